"""A node's title and port names are plain text items (studio/ui/canvas_labels.py) instead of
NodeGraphQt's QGraphicsTextItems: the same text in the same box, so nodes keep their size and
layout; the theme colours them; double-clicking the title still renames the node in place."""

from __future__ import annotations

from qtpy.QtCore import QPointF, Qt
from qtpy.QtGui import QColor
from qtpy.QtWidgets import QGraphicsTextItem

from studio.flow.models import Flow, Node, Position
from studio.ui.canvas_labels import NodeLabel, TitleLabel


def _open(window, qtbot, *nodes: Node):
    window.document.load(Flow(name="Labels", nodes=list(nodes)))
    window._show_canvas()
    window.canvas.set_zoom_percent(100)
    window.canvas.centre_on(nodes[0].id)
    qtbot.wait(20)
    return window.canvas, window.document


def test_labels_take_the_box_a_text_document_would(window, qtbot):
    long = "Summarise every customer complaint of the week into one short paragraph"
    chat = Node(action="chat.create_completion", name="Write_Wg 2", position=Position(x=0, y=0))
    other = Node(action="chat.create_completion", name=long, position=Position(x=0, y=200))
    canvas, _ = _open(window, qtbot, chat, other)
    for nid in (chat.id, other.id):
        item = canvas.view_of(nid).view
        labels = [item.text_item, *item._input_items.values(), *item._output_items.values()]
        assert isinstance(labels[0], TitleLabel) and all(isinstance(label, NodeLabel) for label in labels)
        assert not any(isinstance(child, QGraphicsTextItem) for child in item.childItems())
        assert [label.toPlainText() for label in labels[1:]] == ["in", "output"]
        for label in labels:
            document = QGraphicsTextItem(label.toPlainText())
            document.setFont(label.font())
            assert label.boundingRect() == document.boundingRect()
        # the title sits inside the node, the port names beside their ports
        assert item.boundingRect().contains(item.text_item.mapRectToParent(item.text_item.boundingRect()))
        for port, label in [*item._input_items.items(), *item._output_items.items()]:
            assert label.isVisible() and abs(label.pos().y() - (port.y() - 1.5)) < 0.01
    assert canvas.view_of(other.id).view.text_item.toPlainText().endswith("…")


def test_the_theme_colours_the_labels(window, qtbot):
    node = Node(action="chat.create_completion", name="Write", position=Position(x=0, y=0))
    canvas, _ = _open(window, qtbot, node)
    item = canvas.view_of(node.id).view
    text = QColor(canvas.theme.node_text)
    for label in [item.text_item, *item._input_items.values(), *item._output_items.values()]:
        assert label.defaultTextColor().rgb() == text.rgb()


def test_double_clicking_the_title_renames_the_node_in_place(window, qtbot):
    long = "Summarise every customer complaint of the week into one short paragraph"
    node = Node(action="chat.create_completion", name=long, position=Position(x=0, y=0))
    canvas, doc = _open(window, qtbot, node)
    title = canvas.view_of(node.id).view.text_item
    assert title.toolTip() == "double-click to edit node name." and title.cursor().shape() == Qt.CursorShape.IBeamCursor
    spot = canvas.viewer.mapFromScene(title.mapToScene(QPointF(12, title.boundingRect().height() / 2)))
    qtbot.mouseDClick(canvas.viewer.viewport(), Qt.MouseButton.LeftButton, pos=spot)
    editor = canvas._rename_box
    assert editor.isVisible() and editor.text() == long  # the whole name, not the elided title
    assert title.toPlainText().endswith("…")  # the title itself is unchanged meanwhile
    editor.selectAll()
    qtbot.keyClicks(editor, "Summary")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert doc.node(node.id).name == "Summary" and title.toPlainText() == "Summary"
    doc.undo_stack.undo()
    assert doc.node(node.id).name == long
