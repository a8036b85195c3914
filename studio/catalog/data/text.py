"""Chat completions, vision and moderation (the Responses API is in responses.py)."""

import json

from studio.catalog.models import Action

from .common import MODEL_HELP, T, connection, field, model, simplify, src, timeout

# The connector documents' default is a sample conversation about the 2020 World Series (n8n's
# example) and gpt-3.5-turbo; a new node instead answers what arrives on its `in` port, with a
# current model. The documented defaults stay in the help text (tests/catalog/test_seed_coverage.py
# lists them as deliberate departures).
DOCUMENTED_MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Who won the world series in 2020?"},
    {"role": "assistant", "content": "The Los Angeles Dodgers won the World Series in 2020."},
    {"role": "user", "content": "Where was it played?"},
]
DEFAULT_MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "{{ input | string }}"},
]
DOCUMENTED_CHAT_MODEL = "gpt-3.5-turbo"
DEFAULT_CHAT_MODEL = "gpt-4.1-mini"

FREQ_HELP = ("Number between -2.0 and 2.0. Positive values penalize new tokens based on their existing frequency in "
             "the text so far, decreasing the model's likelihood to repeat the same line verbatim.")
PRES_HELP = ("Number between -2.0 and 2.0. Positive values penalize new tokens based on whether they appear in the "
             "text so far, increasing the model's likelihood to talk about new topics.")
TOP_P_HELP = ("An alternative to sampling with temperature, called nucleus sampling, where the model considers the "
              "results of the tokens with top_p probability mass. So 0.1 means only the tokens comprising the top 10% "
              "probability mass are considered.")
USER_HELP = "A unique identifier representing your end-user, which can help OpenAI to monitor and detect abuse."


def sampling_options(*, temperature_default=None, top_p_default=None, n_default=None, max_tokens_default=None):
    """The chat-completion knobs ByteChef's Ask ChatGPT and Vision Prompt share (and n8n's options)."""
    return [
        field("temperature", "Temperature", T.NUMBER,
              "What sampling temperature to use, between 0 and 2. Higher values like 0.8 will make the output more "
              "random, while lower values like 0.2 will make it more focused and deterministic.",
              aliases=("Output Randomness (Temperature)",), default=temperature_default, minimum=0, maximum=2),
        field("top_p", "top_p", T.NUMBER, TOP_P_HELP, aliases=("Top p", "Output Randomness (Top P)"),
              default=top_p_default, minimum=0, maximum=1),
        field("n", "Number of choices", T.INTEGER,
              "How many chat completion choices to generate for each input message.",
              aliases=("Number of chat completion choices", "Number of Completions"), default=n_default,
              minimum=1, maximum=128),
        field("frequency_penalty", "Frequency penalty", T.NUMBER, FREQ_HELP, aliases=("Frequency Penalty",),
              minimum=-2, maximum=2, group="Options"),
        field("presence_penalty", "Presence penalty", T.NUMBER, PRES_HELP, aliases=("Presence Penalty",),
              minimum=-2, maximum=2, group="Options"),
        field("logit_bias", "Logit bias", T.KEY_VALUE,
              "Modify the likelihood of specified tokens appearing in the completion.", group="Options"),
        field("max_tokens", "Max tokens", T.INTEGER,
              "The maximum number of tokens to generate in the chat completion.",
              aliases=("Maximum Number of Tokens", "Length of Description (Max Tokens)"), default=max_tokens_default,
              minimum=1, group="Options"),
        field("stop", "Stop", T.STRING_LIST, "Up to 4 sequences where the API will stop generating further tokens.",
              group="Options"),
        field("user", "User", T.STRING, USER_HELP, group="Options"),
    ]


def stream(default: bool = True):
    return field("stream", "Stream", T.BOOLEAN,
                 "Stream the text as it is generated, so the run panel shows it live.", default=default)


ACTIONS = [
    Action(
        id="chat.create_completion", kind="action", title="Create Chat Completion", category="Chat Completions",
        api="Chat Completions", endpoints=["POST /v1/chat/completions"],
        description="Create a completion for the chat message",
        sources=src("prismatic", "Create Chat Completion") + src("bytechef", "Ask ChatGPT")
        + src("n8n", "Text: Message a Model"),
        inputs=[
            connection(),
            model(DEFAULT_CHAT_MODEL, aliases=("ID of the model to use",),
                  description=f"{MODEL_HELP} Documented default: {DOCUMENTED_CHAT_MODEL}."),
            field("messages", "Messages", T.JSON,
                  "A list of messages comprising the conversation so far: {role, content}. The default answers "
                  "the node's input. Documented default: a sample conversation about the 2020 World Series: "
                  + json.dumps(DOCUMENTED_MESSAGES),
                  default=DEFAULT_MESSAGES, required=True),
            *sampling_options(temperature_default=1, top_p_default=1, n_default=1),
            field("json_output", "Output Content as JSON", T.BOOLEAN,
                  "Turn on to attempt to return the response in JSON format.", default=False),
            simplify(False),
            stream(),
            timeout(),
        ],
    ),
    Action(
        id="image.analyze", kind="action", title="Analyze Image", category="Images",
        api="Chat Completions", endpoints=["POST /v1/chat/completions"],
        description="Take in images and answer questions about them",
        sources=src("bytechef", "Vision Prompt") + src("n8n", "Image: Analyze Image"),
        inputs=[
            connection(),
            model("gpt-4o", aliases=("ID of the model to use",)),
            field("text", "Text Input", T.TEXT, "Ask a question about the image.", default="What's in this image?"),
            field("input_type", "Input Type", description="Where the images come from.",
                  options=[("url", "Image URL(s)"), ("file", "Binary File(s)")], default="url"),
            field("images", "Image URL(s)", T.STRING_LIST,
                  "Enter the URL(s) of the image(s) to analyze. Add multiple URLs separated by comma.",
                  aliases=("Binary File(s)",)),
            field("messages", "Messages", T.JSON,
                  "A list of messages comprising the conversation so far (content parts may be image_url objects); "
                  "used instead of Text Input and images when given."),
            field("detail", "Detail", description="Specify the balance between response time vs token usage.",
                  options=["auto", "low", "high"], default="auto"),
            *sampling_options(max_tokens_default=300),
            timeout(),
        ],
    ),
    Action(
        id="moderation.classify", kind="action", title="Classify Text for Violations", category="Moderations",
        api="Moderations", endpoints=["POST /v1/moderations"],
        description="Check whether text violates OpenAI's moderation policy",
        sources=src("n8n", "Text: Classify Text for Violations"),
        inputs=[
            connection(),
            field("input", "Text Input", T.TEXT, "Enter text to classify if it violates the moderation policy.",
                  required=True),
            field("use_stable_model", "Use Stable Model", T.BOOLEAN,
                  "Turn on to use the stable version of the model instead of the latest version, accuracy may be "
                  "slightly lower.", default=False),
            simplify(False),
            timeout(),
        ],
    ),
]
