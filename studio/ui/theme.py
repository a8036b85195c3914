"""Dark and light themes: one palette per theme drives the Qt widgets (Fusion + QPalette + a short
style sheet) and the canvas colours, so every view changes together when the user switches."""

from __future__ import annotations

from dataclasses import dataclass

from qtpy.QtGui import QColor, QPalette
from qtpy.QtWidgets import QApplication


@dataclass(frozen=True)
class Theme:
    name: str
    window: str
    base: str
    alt_base: str
    text: str
    muted: str
    accent: str
    border: str
    canvas: str
    grid: str
    node_body: str
    node_text: str
    note: str
    note_text: str
    error: str


DARK = Theme(
    name="dark", window="#1f2228", base="#17191e", alt_base="#22262d", text="#e6e8eb", muted="#9aa3ad",
    accent="#4f8cff", border="#343a43", canvas="#15171b", grid="#23272e", node_body="#2a2f37",
    node_text="#eef0f2", note="#6b5d2a", note_text="#fff6d5", error="#ff6b6b",
)
LIGHT = Theme(
    name="light", window="#f3f4f6", base="#ffffff", alt_base="#f7f8fa", text="#1d2228", muted="#5f6b77",
    accent="#2563eb", border="#d4d8de", canvas="#eceef1", grid="#dde0e5", node_body="#ffffff",
    node_text="#1d2228", note="#fff1a8", note_text="#3d3510", error="#c62828",
)
THEMES = {"dark": DARK, "light": LIGHT}

# Node kinds keep their colour in both themes: the header strip and the icon.
KIND_COLORS = {"trigger": "#e8a33d", "action": "#3d8be8", "agent": "#9b5de5",
               "unsupported": "#eb5757"}  # imported placeholders (no equivalent here)
STATUS_COLORS = {
    "queued": "#8a94a0",
    "running": "#2f80ed",
    "succeeded": "#27ae60",
    "failed": "#eb5757",
    "waiting": "#f2a93b",
    "skipped": "#8a94a0",
    "cancelled": "#8a94a0",
}


def hex_rgb(value: str) -> tuple[int, int, int]:
    c = QColor(value)
    return c.red(), c.green(), c.blue()


def apply_theme(app: QApplication, name: str) -> Theme:
    """Style the whole application; returns the theme for views that paint themselves."""
    theme = THEMES.get(name, DARK)
    app.setStyle("Fusion")
    pal = QPalette()
    roles = {
        QPalette.ColorRole.Window: theme.window,
        QPalette.ColorRole.WindowText: theme.text,
        QPalette.ColorRole.Base: theme.base,
        QPalette.ColorRole.AlternateBase: theme.alt_base,
        QPalette.ColorRole.Text: theme.text,
        QPalette.ColorRole.Button: theme.alt_base,
        QPalette.ColorRole.ButtonText: theme.text,
        QPalette.ColorRole.ToolTipBase: theme.base,
        QPalette.ColorRole.ToolTipText: theme.text,
        QPalette.ColorRole.Highlight: theme.accent,
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.PlaceholderText: theme.muted,
        QPalette.ColorRole.Link: theme.accent,
    }
    for role, colour in roles.items():
        pal.setColor(role, QColor(colour))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor(theme.muted))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor(theme.muted))
    app.setPalette(pal)
    app.setStyleSheet(f"""
        QDockWidget::title {{ padding: 6px 8px; background: {theme.alt_base}; }}
        QToolBar {{ border: none; spacing: 4px; padding: 3px; }}
        QStatusBar {{ color: {theme.muted}; }}
        QLabel[role="muted"] {{ color: {theme.muted}; }}
        QLabel[role="heading"] {{ font-weight: 600; font-size: 14px; }}
        QLabel[role="error"] {{ color: {theme.error}; }}
        QFrame[role="card"] {{ border: 1px solid {theme.border}; border-radius: 6px; background: {theme.alt_base}; }}
        QTreeWidget, QListWidget, QTableWidget, QPlainTextEdit, QLineEdit, QTextBrowser {{
            border: 1px solid {theme.border}; border-radius: 4px; }}
    """)
    app.setProperty("flow_studio_theme", theme.name)
    return theme


def current_theme() -> Theme:
    app = QApplication.instance()
    name = app.property("flow_studio_theme") if app is not None else None
    return THEMES.get(name or "dark", DARK)
