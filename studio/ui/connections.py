"""The Connections dialog: add, edit, test and delete connections of every connection type in the
catalog (OpenAI API keys, HTTP Credentials ...). The form is generated from the type's declared
fields, like a property panel; the secret field goes to the credential store (the OS keyring, or
an encrypted file the user unlocks with a passphrase), never anywhere else, and the dialog says
which store is in use. The simulated connection is always listed so the examples run without a key."""

from __future__ import annotations

import asyncio
import functools
import threading
from typing import Any, Awaitable, Callable

from qtpy.QtCore import QObject, Signal
from qtpy.QtWidgets import (
    QComboBox,
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

    def run(self, settings: Any, check: Callable[[Any], Awaitable[str]] | None = None) -> None:
        """Test on the qasync loop when there is one, else on a short-lived thread. `check`
        (default: OpenAI's list models) gets `settings` and answers a message or raises."""
        check = check or _credentials().test_connection

        async def go() -> None:
            try:
                message = await check(settings)
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
        self.type_box = QComboBox()
        from studio.catalog import load_catalog

        self.types = {t.id: t for t in load_catalog().connections}
        for ctype in self.types.values():
            self.type_box.addItem(ctype.title, ctype.id)
            self.type_box.setItemData(self.type_box.count() - 1, ctype.description, 3)  # tooltip role
        self.type_box.currentIndexChanged.connect(lambda _i: self._build_fields())
        form.addRow("Name", self.name_edit)
        form.addRow("Type", self.type_box)
        self.fields_box = QWidget()
        self.fields_form = QFormLayout(self.fields_box)
        self.fields_form.setContentsMargins(0, 0, 0, 0)
        form.addRow(self.fields_box)
        self.field_edits: dict[str, QLineEdit | QComboBox] = {}
        self.key_edit = QLineEdit()
        self.test_url_edit = QLineEdit()
        self.test_url_edit.setPlaceholderText("https://api.example.com/v1/me (a URL these credentials open)")
        self.test_url_label = QLabel("Test with URL")
        form.addRow(self.test_url_label, self.test_url_edit)
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
        self._build_fields()
        self.reload()

    # -- the generated form ------------------------------------------------------------------------

    def current_type(self) -> Any:
        return self.types[self.type_box.currentData()]

    def _build_fields(self) -> None:
        """One row per field the current connection type declares: a choice for fields with
        options, a masked line for the secret (left empty, the saved secret is kept)."""
        from studio.credentials.fields import secret_field

        while self.fields_form.rowCount():
            self.fields_form.removeRow(0)  # deletes the old widgets (key_edit is made anew below)
        self.field_edits = {}
        ctype = self.current_type()
        secret = secret_field(ctype)
        for spec in ctype.fields:
            if spec.options:
                edit: QLineEdit | QComboBox = QComboBox()
                edit.addItems(spec.options)
                if spec.default in spec.options:
                    edit.setCurrentText(spec.default)
            else:
                edit = QLineEdit()
                if spec is secret:
                    edit.setEchoMode(QLineEdit.EchoMode.Password)
                    edit.setPlaceholderText("leave empty to keep the saved secret")
                    self.key_edit = edit
                else:
                    edit.setPlaceholderText(str(spec.default) if spec.default not in (None, "") else
                                            ("required" if spec.required else "optional"))
            edit.setToolTip(spec.description)
            edit.setObjectName(f"field_{spec.key}")
            self.field_edits[spec.key] = edit
            self.fields_form.addRow(spec.label + (" *" if spec.required else ""), edit)
        if secret is None:
            self.key_edit = QLineEdit()  # a type without a secret: nothing is stored
        has_builtin_test = ctype.id == "openai"
        self.test_url_label.setVisible(not has_builtin_test)
        self.test_url_edit.setVisible(not has_builtin_test)

    @property
    def org_edit(self) -> Any:
        return self.field_edits.get("organization")

    @property
    def url_edit(self) -> Any:
        return self.field_edits.get("base_url")

    def field_value(self, key: str) -> str:
        edit = self.field_edits[key]
        return (edit.currentText() if isinstance(edit, QComboBox) else edit.text()).strip()

    def _set_field(self, key: str, value: str) -> None:
        edit = self.field_edits[key]
        if isinstance(edit, QComboBox):
            edit.setCurrentText(value)
        else:
            edit.setText(value)

    def _plain_values(self) -> dict[str, str]:
        from studio.credentials.fields import plain_fields

        return {f.key: self.field_value(f.key) for f in plain_fields(self.current_type())}

    def _select_type(self, type_id: str) -> None:
        index = self.type_box.findData(type_id)
        if index >= 0 and index != self.type_box.currentIndex():
            self.type_box.setCurrentIndex(index)  # rebuilds the fields

    def _editable(self, on: bool) -> None:
        for w in (self.name_edit, self.type_box, self.save_button, self.delete_button, *self.field_edits.values()):
            w.setEnabled(on)

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
            ctype = self.types.get(record.type)
            kind = f"  [{ctype.title if ctype else record.type}]" if record.type != "openai" else ""
            item = QListWidgetItem(record.name + kind + ("" if self.store.has_key(record.name) else "  (no key)"))
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
        from studio.credentials.fields import field_values

        name = item.data(256) if item else ""
        simulated = name == self.credentials.SIMULATED
        record = None
        if name and not simulated:
            record = next((r for r in self.store.list() if r.name == name), None)
        self._select_type(record.type if record is not None and record.type in self.types else "openai")
        self.name_edit.setText(name or "")
        self.key_edit.clear()
        values = field_values(record, self.current_type()) if record is not None else {}
        for key in self._plain_values():
            spec = next(f for f in self.current_type().fields if f.key == key)
            shown = values.get(key, "")
            self._set_field(key, shown if shown or not spec.options else str(spec.default or spec.options[0]))
        self._editable(not simulated)
        self.result.setText("Answered offline by a simulated OpenAI server in this app." if simulated else "")

    def _new(self) -> None:
        self.list.clearSelection()
        self.name_edit.clear()
        self._build_fields()  # fresh, empty fields of the chosen type
        self._editable(True)
        self.name_edit.setFocus()

    def save_current(self) -> bool:
        """Save the form as a connection of the chosen type: its fields into the record, the
        secret (if typed) into the credential store only."""
        from studio.credentials.fields import record_from_fields, secret_field

        name = self.name_edit.text().strip()
        if not name or name == self.credentials.SIMULATED:
            self.result.setText("Give the connection a name.")
            return False
        ctype = self.current_type()
        secret = secret_field(ctype)
        try:
            record = record_from_fields(ctype, name, self._plain_values())
            self.store.save(record, api_key=self.key_edit.text().strip() or None if secret else None)
        except Exception as exc:  # noqa: BLE001 - the store explains (no keyring, bad field ...)
            self.result.setText(f"Not saved: {self._reason(exc)}")
            status = self.store.keyring_status()
            self.keyring_label.setText(self._status_text(status))
            self.encrypted_button.setVisible(not status.available)
            return False
        self.key_edit.clear()
        self.reload(select=name)
        missing = secret is not None and secret.required and not self.store.has_key(name)
        # after reload, which shows the entry afresh
        self.result.setText(f"Saved '{name}'." + (f" It has no {secret.label} yet." if missing else ""))
        self.changed.emit()
        return True

    def _typed_or_saved_secret(self, name: str) -> str:
        key = self.key_edit.text().strip()
        if not key and name and any(r.name == name for r in self.store.list()):
            key = self.store.api_key(name) or ""
        return key

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
        key = self._typed_or_saved_secret(name) or os.environ.get(credentials.ENV_KEY, "").strip()
        if not key:
            raise credentials.CredentialError("type the API key to test (no key is saved for this connection)")
        return credentials.ConnectionSettings(name=name or "new connection",
                                              base_url=self.field_value("base_url") or DEFAULT_BASE_URL,
                                              api_key=key, organization=self.field_value("organization") or None)

    def _http_check(self) -> tuple[str, Callable[[str], Awaitable[str]]]:
        """The URL to test and the check for a non-OpenAI connection (HTTP Credentials)."""
        from studio.connectors.http.auth import test_http_connection
        from studio.credentials.fields import record_from_fields

        name = self.name_edit.text().strip()
        record = record_from_fields(self.current_type(), name or "new connection", self._plain_values())
        secret = self._typed_or_saved_secret(name)
        if not secret:
            raise self.credentials.CredentialError("type the secret to test (none is saved for this connection)")
        url = self.test_url_edit.text().strip()
        if not url:
            raise self.credentials.CredentialError("type a URL in 'Test with URL' that these credentials open")
        return url, functools.partial(test_http_connection, record, secret)

    def test_current(self) -> None:
        try:
            if self.current_type().id == "openai":
                settings, check = self.form_settings(), None
            else:
                settings, check = self._http_check()
        except Exception as exc:  # noqa: BLE001
            self.result.setText(f"Cannot test: {exc}")
            return
        self.result.setText("Testing…")
        self.test_button.setEnabled(False)
        if check is None:
            self.tester.run(settings)
        else:
            self.tester.run(settings, check)

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
