"""The Connections dialog: add, edit, test and delete connections. Keys go to the credential
store (the OS keyring, or an encrypted file the user unlocks with a passphrase); the dialog says
which one is in use and never writes a key anywhere else. The simulated connection is always
listed so the examples run without a key."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from qtpy.QtCore import QObject, Signal
from qtpy.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


def _credentials() -> Any:
    import studio.credentials as credentials

    return credentials


def connection_names(store: Any = None) -> list[str]:
    """Saved connection names plus the simulated one (for the connection pickers)."""
    credentials = _credentials()
    try:
        names = [r.name for r in (store or credentials.ConnectionStore()).list()]
    except Exception:  # noqa: BLE001 - a broken store file must not hide the simulated connection
        names = []
    return names + [credentials.SIMULATED]


class _Tester(QObject):
    done = Signal(bool, str)

    def run(self, settings: Any) -> None:
        """Test on the qasync loop when there is one, else on a short-lived thread."""
        credentials = _credentials()

        async def go() -> None:
            try:
                message = await credentials.test_connection(settings)
            except Exception as exc:  # noqa: BLE001 - shown to the user
                self.done.emit(False, str(exc))
            else:
                self.done.emit(True, message)

        try:
            asyncio.get_running_loop().create_task(go())
        except RuntimeError:
            threading.Thread(target=lambda: asyncio.run(go()), daemon=True).start()


class ConnectionsDialog(QDialog):
    changed = Signal()

    def __init__(self, store: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        credentials = _credentials()
        self.credentials = credentials
        self.store = store or credentials.ConnectionStore()
        self.setWindowTitle("Connections")
        self.resize(640, 420)
        layout = QVBoxLayout(self)
        status = self.store.keyring_status()
        self.keyring_label = QLabel(self._status_text(status))
        self.keyring_label.setWordWrap(True)
        layout.addWidget(self.keyring_label)
        self.encrypted_button = QPushButton("Use an encrypted key file…")
        self.encrypted_button.setToolTip("Keys are kept in a file encrypted with a passphrase you choose "
                                         "(keyrings.cryptfile)")
        self.encrypted_button.clicked.connect(self._use_encrypted)
        self.encrypted_button.setVisible(not status.available)
        layout.addWidget(self.encrypted_button)

        row = QHBoxLayout()
        self.list = QListWidget()
        self.list.currentItemChanged.connect(self._show_current)
        row.addWidget(self.list, 1)
        form_box = QWidget()
        form = QFormLayout(form_box)
        self.name_edit = QLineEdit()
        self.key_edit = QLineEdit()
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setPlaceholderText("sk-… (leave empty to keep the saved key)")
        self.org_edit = QLineEdit()
        self.org_edit.setPlaceholderText("optional")
        self.url_edit = QLineEdit()
        self.url_edit.setPlaceholderText("https://api.openai.com/v1 (or any OpenAI-compatible server)")
        form.addRow("Name", self.name_edit)
        form.addRow("API key", self.key_edit)
        form.addRow("Organization", self.org_edit)
        form.addRow("Base URL", self.url_edit)
        buttons = QHBoxLayout()
        self.save_button = QPushButton("Save")
        self.test_button = QPushButton("Test")
        self.delete_button = QPushButton("Delete")
        self.new_button = QPushButton("New")
        for b in (self.new_button, self.save_button, self.test_button, self.delete_button):
            buttons.addWidget(b)
        form.addRow(buttons)
        self.result = QLabel("")
        self.result.setWordWrap(True)
        form.addRow(self.result)
        row.addWidget(form_box, 2)
        layout.addLayout(row, 1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout.addWidget(close)
        self.new_button.clicked.connect(self._new)
        self.save_button.clicked.connect(self.save_current)
        self.test_button.clicked.connect(self.test_current)
        self.delete_button.clicked.connect(self._delete)
        self.tester = _Tester(self)
        self.tester.done.connect(self._tested)
        self.reload()

    @staticmethod
    def _status_text(status: Any) -> str:
        if getattr(status, "kind", "system") == "encrypted":
            return "API keys are stored in an encrypted file unlocked by your passphrase."
        if status.available:
            return f"API keys are stored in the system keyring ({status.backend})."
        return status.message  # no system keyring: why, and the two choices (never a plain file)

    @staticmethod
    def _reason(exc: BaseException) -> str:
        """Why saving failed, in words even when the exception carries none (EOFError ...)."""
        text = str(exc).strip()
        return text or f"{type(exc).__name__} while storing the key"

    def reload(self, select: str | None = None) -> None:
        self.list.clear()
        for record in self.store.list():
            item = QListWidgetItem(record.name + ("" if self.store.has_key(record.name) else "  (no key)"))
            item.setData(256, record.name)
            self.list.addItem(item)
        sim = QListWidgetItem(f"{self.credentials.SIMULATED}  (built in, no key)")
        sim.setData(256, self.credentials.SIMULATED)
        self.list.addItem(sim)
        for i in range(self.list.count()):
            if self.list.item(i).data(256) == select:
                self.list.setCurrentRow(i)
                return
        self.list.setCurrentRow(0)

    def names(self) -> list[str]:
        return [self.list.item(i).data(256) for i in range(self.list.count())]

    def _show_current(self, item: QListWidgetItem | None, _prev: Any = None) -> None:
        name = item.data(256) if item else ""
        simulated = name == self.credentials.SIMULATED
        record = None
        if name and not simulated:
            record = next((r for r in self.store.list() if r.name == name), None)
        self.name_edit.setText(name or "")
        self.key_edit.clear()
        self.org_edit.setText((record.organization or "") if record else "")
        self.url_edit.setText((record.base_url or "") if record else "")
        for w in (self.name_edit, self.key_edit, self.org_edit, self.url_edit, self.save_button, self.delete_button):
            w.setEnabled(not simulated)
        self.result.setText("Answered offline by a simulated OpenAI server in this app." if simulated else "")

    def _new(self) -> None:
        self.list.clearSelection()
        for w in (self.name_edit, self.key_edit, self.org_edit, self.url_edit, self.save_button, self.delete_button):
            w.setEnabled(True)
            if isinstance(w, QLineEdit):
                w.clear()
        self.name_edit.setFocus()

    def save_current(self) -> bool:
        name = self.name_edit.text().strip()
        if not name or name == self.credentials.SIMULATED:
            self.result.setText("Give the connection a name.")
            return False
        fields: dict[str, Any] = {"name": name, "organization": self.org_edit.text().strip() or None}
        if self.url_edit.text().strip():
            fields["base_url"] = self.url_edit.text().strip()
        try:
            record = self.credentials.ConnectionRecord(**fields)
            self.store.save(record, api_key=self.key_edit.text().strip() or None)
        except Exception as exc:  # noqa: BLE001 - the store explains (no keyring, bad URL ...)
            self.result.setText(f"Not saved: {self._reason(exc)}")
            status = self.store.keyring_status()
            self.keyring_label.setText(self._status_text(status))
            self.encrypted_button.setVisible(not status.available)
            return False
        self.key_edit.clear()
        self.reload(select=name)
        self.result.setText(f"Saved '{name}'.")  # after reload, which shows the entry afresh
        self.changed.emit()
        return True

    def form_settings(self) -> Any:
        """Connection settings from what the form holds now (not the saved entry): the typed base
        URL, organization and key; an empty key field means the saved key of the connection named
        in the form, else OPENAI_API_KEY. Raises CredentialError when there is no key."""
        import os

        from studio.connectors.openai.client import DEFAULT_BASE_URL

        credentials = self.credentials
        name = self.name_edit.text().strip()
        if name == credentials.SIMULATED and not self.name_edit.isEnabled():
            return credentials.resolve(credentials.SIMULATED)
        key = self.key_edit.text().strip()
        if not key and name and any(r.name == name for r in self.store.list()):
            key = self.store.api_key(name) or ""
        key = key or os.environ.get(credentials.ENV_KEY, "").strip()
        if not key:
            raise credentials.CredentialError("type the API key to test (no key is saved for this connection)")
        return credentials.ConnectionSettings(name=name or "new connection",
                                              base_url=self.url_edit.text().strip() or DEFAULT_BASE_URL,
                                              api_key=key, organization=self.org_edit.text().strip() or None)

    def test_current(self) -> None:
        try:
            settings = self.form_settings()
        except Exception as exc:  # noqa: BLE001
            self.result.setText(f"Cannot test: {exc}")
            return
        self.result.setText("Testing…")
        self.test_button.setEnabled(False)
        self.tester.run(settings)

    def _tested(self, ok: bool, message: str) -> None:
        self.test_button.setEnabled(True)
        self.result.setText(("✔ " if ok else "✘ ") + message)

    def _delete(self) -> None:
        item = self.list.currentItem()
        if item is None or item.data(256) == self.credentials.SIMULATED:
            return
        self.store.delete(item.data(256))
        self.reload()
        self.changed.emit()

    def _use_encrypted(self) -> None:
        passphrase, ok = QInputDialog.getText(self, "Encrypted key file", "Passphrase to unlock your keys:",
                                              QLineEdit.EchoMode.Password)
        if not ok or not passphrase:
            return
        exists = getattr(self.store, "encrypted_file_exists", lambda: True)()
        if not exists:  # a new file: a mistyped passphrase would lock its keys away for good
            again, ok = QInputDialog.getText(self, "Encrypted key file", "Type the new passphrase again:",
                                             QLineEdit.EchoMode.Password)
            if not ok:
                return
            if again != passphrase:
                QMessageBox.warning(self, "Encrypted key file", "The two passphrases differ; nothing was changed.")
                return
        try:
            self.store.use_encrypted_file(passphrase)
        except Exception as exc:  # noqa: BLE001
            QMessageBox.warning(self, "Encrypted key file", str(exc))
            return
        self.keyring_label.setText(self._status_text(self.store.keyring_status()))
        self.encrypted_button.hide()
        self.result.setText("Encrypted key file unlocked: keys you save now go there.")
