"""Images and audio: generation, speech, transcription and translation."""

from studio.catalog.models import Action

from .common import T, connection, field, model, src, timeout
from .text import USER_HELP

AUDIO_FORMATS_HELP = "in one of these formats: flac, mp3, mp4, mpeg, mpga, m4a, ogg, wav, or webm."
TRANSCRIPT_FORMATS = ["json", "text", "srt", "verbose_json", "vtt"]

ACTIONS = [
    Action(
        id="image.generate", kind="action", title="Create Image", category="Images",
        api="Images", endpoints=["POST /v1/images/generations"],
        description="Create image(s) given a prompt; images are saved as files of the run.",
        sources=src("prismatic", "Create Image") + src("bytechef", "Create image")
        + src("n8n", "Image: Generate an Image"),
        inputs=[
            connection(),
            field("prompt", "Prompt", T.TEXT,
                  "A text description of the desired image(s). The maximum length is 1000 characters.",
                  required=True),
            model(None, description="The model to use for image generation (dall-e-2, dall-e-3, gpt-image-1)."),
            field("n", "Number of Images", T.INTEGER,
                  "The number of images to generate. Must be between 1 and 10.", default=1, minimum=1, maximum=10),
            field("size", "Image Size", description="The size of the generated images. Must be one of 256x256, "
                  "512x512, or 1024x1024 (dall-e-2); 1024x1024, 1792x1024 or 1024x1792 (dall-e-3); 1024x1024, "
                  "1536x1024, 1024x1536 or auto (gpt-image-1).", aliases=("Size", "Resolution"),
                  options=["256x256", "512x512", "1024x1024", "1792x1024", "1024x1792", "1536x1024", "1024x1536",
                           "auto"], default="1024x1024"),
            field("quality", "Quality", description="The quality of the image that will be generated.",
                  options=["standard", "hd", "low", "medium", "high", "auto"]),
            field("style", "Style", description="The style of the generated images (dall-e-3).",
                  options=[("vivid", "Vivid"), ("natural", "Natural")]),
            field("response_format", "Response format",
                  description="The format in which the generated images are returned (dall-e models).",
                  aliases=("Respond with image URL(s)",), options=[("b64_json", "Binary file"), ("url", "URL")]),
            field("background", "Background", description="Background of gpt-image-1 images.",
                  options=["auto", "transparent", "opaque"], group="Options"),
            field("output_format", "Output Format", description="File format of gpt-image-1 images.",
                  options=["png", "jpeg", "webp"], group="Options"),
            field("output_compression", "Output Compression", T.INTEGER, "0-100, for jpeg and webp.", minimum=0,
                  maximum=100, group="Options"),
            field("moderation", "Moderation", description="Moderation level (gpt-image-1).", options=["auto", "low"],
                  group="Options"),
            field("output_field", "Put Output in Field", T.STRING,
                  "Name of the output field that holds the image files.", default="data", group="Options"),
            field("user", "User", T.STRING, USER_HELP, group="Options"),
            timeout(),
        ],
    ),
    Action(
        id="image.edit", kind="action", title="Edit Image", category="Images", api="Images",
        endpoints=["POST /v1/images/edits"],
        description="Edit or extend images from a prompt: one or more input images (gpt-image-1 takes up to 16) "
                    "and an optional mask whose transparent areas are repainted; results are saved as files.",
        inputs=[
            connection(),
            field("images", "Images", T.FILE, "The image(s) to edit: local files or upstream images (png, webp or "
                  "jpg; dall-e-2: one square png under 4 MB).", required=True, multiple=True),
            field("prompt", "Prompt", T.TEXT, "What the edited image should show.", required=True),
            field("mask", "Mask", T.FILE, "A png as large as the first image; its fully transparent areas are "
                  "where the image is edited."),
            model("gpt-image-1", description="gpt-image-1 or dall-e-2."),
            field("n", "Number of Images", T.INTEGER, "1 to 10.", default=1, minimum=1, maximum=10),
            field("size", "Image Size", description="gpt-image-1: 1024x1024, 1536x1024, 1024x1536 or auto; "
                  "dall-e-2: 256x256, 512x512 or 1024x1024.",
                  options=["256x256", "512x512", "1024x1024", "1536x1024", "1024x1536", "auto"]),
            field("quality", "Quality", description="gpt-image-1 quality.", options=["low", "medium", "high", "auto"]),
            field("background", "Background", description="gpt-image-1 background.",
                  options=["auto", "transparent", "opaque"], group="Options"),
            field("output_format", "Output Format", description="gpt-image-1 file format.",
                  options=["png", "jpeg", "webp"], group="Options"),
            field("output_compression", "Output Compression", T.INTEGER, "0-100, for jpeg and webp.", minimum=0,
                  maximum=100, group="Options"),
            field("input_fidelity", "Input Fidelity", description="How closely gpt-image-1 keeps faces and details "
                  "of the input.", options=["low", "high"], group="Options"),
            field("user", "User", T.STRING, USER_HELP, group="Options"),
            timeout(),
        ],
    ),
    Action(
        id="image.variation", kind="action", title="Create Image Variation", category="Images", api="Images",
        endpoints=["POST /v1/images/variations"],
        description="Variations of one image (dall-e-2); results are saved as files.",
        deprecated="OpenAI has deprecated image variations along with dall-e-2: use Edit Image with gpt-image-1.",
        inputs=[
            connection(),
            field("images", "Image", T.FILE, "A square png under 4 MB: a local file or an upstream image.",
                  required=True),
            model("dall-e-2", description="Only dall-e-2 makes variations."),
            field("n", "Number of Images", T.INTEGER, "1 to 10.", default=1, minimum=1, maximum=10),
            field("size", "Image Size", options=["256x256", "512x512", "1024x1024"], default="1024x1024"),
            field("user", "User", T.STRING, USER_HELP, group="Options"),
            timeout(),
        ],
    ),
    Action(
        id="audio.speech", kind="action", title="Create Speech", category="Audio",
        api="Audio", endpoints=["POST /v1/audio/speech"],
        description="Generate spoken audio from text; the audio is saved as a file of the run.",
        sources=src("bytechef", "Create speech") + src("n8n", "Audio: Generate"),
        inputs=[
            connection(),
            model("tts-1", description="Text-to-Speech model which will generate the audio (tts-1, tts-1-hd, "
                  "gpt-4o-mini-tts)."),
            field("input", "Input", T.TEXT, "The text to generate audio for.", aliases=("Text Input",), required=True),
            field("voice", "Voice", description="The voice to use when generating the audio.",
                  options=["alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer",
                           "verse"], default="alloy"),
            field("response_format", "Response format", description="The format to audio in.",
                  options=["mp3", "opus", "aac", "flac", "wav", "pcm"], default="mp3"),
            field("speed", "Speed", T.NUMBER, "The speed of the generated audio.", default=1.0, minimum=0.25,
                  maximum=4.0),
            field("instructions", "Instructions", T.TEXT, "How to speak (gpt-4o-mini-tts only).", group="Options"),
            timeout(),
        ],
    ),
    Action(
        id="audio.transcribe", kind="action", title="Create Transcription", category="Audio",
        api="Audio", endpoints=["POST /v1/audio/transcriptions"],
        description="Transcribe audio into text in its own language.",
        sources=src("bytechef", "Create transcriptions") + src("n8n", "Audio: Transcribe"),
        inputs=[
            connection(),
            field("file", "File", T.FILE, f"The audio file object to transcribe, {AUDIO_FORMATS_HELP}", required=True),
            model("whisper-1", description="ID of the model to use."),
            field("language", "Language", T.STRING, "The language of the input audio (ISO-639-1, e.g. en)."),
            field("prompt", "Prompt", T.TEXT, "An optional text to guide the model's style or continue a previous "
                  "audio segment. The prompt should match the audio language."),
            field("response_format", "Response format", description="The format of the transcript output",
                  options=TRANSCRIPT_FORMATS, default="json"),
            field("temperature", "Temperature", T.NUMBER, "The sampling temperature, between 0 and 1.", minimum=0,
                  maximum=1),
            timeout(),
        ],
    ),
    Action(
        id="audio.translate", kind="action", title="Create Translation", category="Audio",
        api="Audio", endpoints=["POST /v1/audio/translations"],
        description="Translate audio into English text.",
        sources=src("bytechef", "Create translation") + src("n8n", "Audio: Translate"),
        inputs=[
            connection(),
            field("file", "File", T.FILE, f"The audio file object translate, {AUDIO_FORMATS_HELP}", required=True),
            model("whisper-1", description="ID of the model to use."),
            field("prompt", "Prompt", T.TEXT, "An optional text to guide the model's style or continue a previous "
                  "audio segment. The prompt should be in English."),
            field("response_format", "Response format", description="The format of the transcript output",
                  options=TRANSCRIPT_FORMATS, default="json"),
            field("temperature", "Temperature", T.NUMBER, "The sampling temperature, between 0 and 1.", minimum=0,
                  maximum=1),
            timeout(),
        ],
    ),
]
