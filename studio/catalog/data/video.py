"""Videos (Sora), deprecated: OpenAI shuts the Sora API down on September 24, 2026."""

from studio.catalog.models import Action

from .common import T, connection, field, model, timeout
from .responses import polling

API = "Videos"
DEPRECATED = ("OpenAI has announced that the Sora video API shuts down permanently on September 24, 2026; "
              "these nodes stop working then.")


def video_id() -> object:
    return field("video_id", "Video ID", T.STRING, "The video (video_...).", required=True)


def wait() -> object:
    return field("wait", "Wait for Video", T.BOOLEAN, "Poll until the video is rendered (progress shown) and save it "
                 "as a run file; off: output the started job.", default=True, group="Waiting")


ACTIONS = [
    Action(
        id="video.create", kind="action", title="Generate Video", category="Videos", api=API, deprecated=DEPRECATED,
        endpoints=["POST /v1/videos", "GET /v1/videos/{video_id}", "GET /v1/videos/{video_id}/content"],
        description="Generate a video from a prompt (and an optional first-frame image) with Sora; waits with "
                    "progress and saves the MP4.",
        inputs=[
            connection(),
            field("prompt", "Prompt", T.TEXT, "What the video shows.", required=True),
            model("sora-2", description="sora-2 or sora-2-pro."),
            field("seconds", "Seconds", description="Length of the clip.", options=["4", "8", "12"], default="4"),
            field("size", "Size", description="Width x height.", options=["720x1280", "1280x720", "1024x1792",
                                                                         "1792x1024"], default="720x1280"),
            field("input_reference", "Reference Image", T.FILE, "An image (as large as the video) to start from."),
            wait(), *polling("video", wait_default=1800), timeout(),
        ],
    ),
    Action(
        id="video.remix", kind="action", title="Remix Video", category="Videos", api=API, deprecated=DEPRECATED,
        endpoints=["POST /v1/videos/{video_id}/remix", "GET /v1/videos/{video_id}",
                   "GET /v1/videos/{video_id}/content"],
        description="Make a new video from a finished one with a changed prompt.",
        inputs=[connection(), video_id(), field("prompt", "Prompt", T.TEXT, "What to change.", required=True),
                wait(), *polling("video", wait_default=1800), timeout()],
    ),
    Action(
        id="video.retrieve", kind="action", title="Get Video", category="Videos", api=API, deprecated=DEPRECATED,
        endpoints=["GET /v1/videos/{video_id}"], description="A video job's status and progress.",
        inputs=[connection(), video_id(), timeout()],
    ),
    Action(
        id="video.download", kind="action", title="Download Video", category="Videos", api=API, deprecated=DEPRECATED,
        endpoints=["GET /v1/videos/{video_id}/content"], description="Save a finished video (or its thumbnail or "
                                                                      "spritesheet) as a run file.",
        inputs=[connection(), video_id(),
                field("variant", "Variant", options=["video", "thumbnail", "spritesheet"], default="video"),
                timeout()],
    ),
    Action(
        id="video.list", kind="action", title="List Videos", category="Videos", api=API, deprecated=DEPRECATED,
        endpoints=["GET /v1/videos"], description="List the account's videos.",
        inputs=[connection(), field("limit", "Limit", T.INTEGER, "1-100.", default=20, minimum=1, maximum=100),
                field("order", "Order", options=["desc", "asc"], default="desc"),
                field("after", "After", T.STRING, "Paging: list after this id.", group="Options"), timeout()],
    ),
    Action(
        id="video.delete", kind="action", title="Delete Video", category="Videos", api=API, deprecated=DEPRECATED,
        endpoints=["DELETE /v1/videos/{video_id}"], description="Delete a video.",
        inputs=[connection(), video_id(), timeout()],
    ),
]
