"""The Conversations API (part of Responses): conversations that hold items across responses."""

from studio.catalog.models import Action

from .common import T, connection, field, timeout

API = "Conversations"
CONV_ID = "The conversation (conv_...)."


def conversation_id() -> object:
    return field("conversation_id", "Conversation ID", T.STRING, CONV_ID, required=True)


ACTIONS = [
    Action(
        id="conversation.create", kind="action", title="Create Conversation", category="Conversations", api=API,
        endpoints=["POST /v1/conversations"], description="Start a conversation, optionally with first items.",
        inputs=[
            connection(),
            field("items", "Items", T.JSON, "Up to 20 first items: a text (one user message) or a JSON list of "
                  "input items ({role, content} messages ...)."),
            field("metadata", "Metadata", T.KEY_VALUE, "Up to 16 key-value pairs."),
            timeout(),
        ],
    ),
    Action(
        id="conversation.retrieve", kind="action", title="Get Conversation", category="Conversations", api=API,
        endpoints=["GET /v1/conversations/{conversation_id}"], description="Get a conversation.",
        inputs=[connection(), conversation_id(), timeout()],
    ),
    Action(
        id="conversation.update", kind="action", title="Update Conversation", category="Conversations", api=API,
        endpoints=["POST /v1/conversations/{conversation_id}"], description="Replace a conversation's metadata.",
        inputs=[connection(), conversation_id(),
                field("metadata", "Metadata", T.KEY_VALUE, "The new key-value pairs.", required=True), timeout()],
    ),
    Action(
        id="conversation.delete", kind="action", title="Delete Conversation", category="Conversations", api=API,
        endpoints=["DELETE /v1/conversations/{conversation_id}"],
        description="Delete a conversation (its items go with it).",
        inputs=[connection(), conversation_id(), timeout()],
    ),
    Action(
        id="conversation.list_items", kind="action", title="List Conversation Items", category="Conversations",
        api=API, endpoints=["GET /v1/conversations/{conversation_id}/items"],
        description="The items of a conversation, oldest first by default.",
        inputs=[
            connection(), conversation_id(),
            field("order", "Order", description="Oldest (asc) or newest (desc) first.", options=["asc", "desc"],
                  default="asc"),
            field("limit", "Limit", T.INTEGER, "How many items (1-100).", default=20, minimum=1, maximum=100),
            field("after", "After", T.STRING, "List items after this item id (paging).", group="Options"),
            field("include", "Include", T.STRING_LIST, "Extra fields, as Create Response's Include.",
                  group="Options"),
            timeout(),
        ],
    ),
    Action(
        id="conversation.add_items", kind="action", title="Add Conversation Items", category="Conversations",
        api=API, endpoints=["POST /v1/conversations/{conversation_id}/items"],
        description="Add up to 20 items to a conversation.",
        inputs=[
            connection(), conversation_id(),
            field("items", "Items", T.JSON, "A text (one user message) or a JSON list of input items.",
                  default="{{ input | string }}", required=True),
            timeout(),
        ],
    ),
]
