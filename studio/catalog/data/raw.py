"""Raw Request: any path under the connection's base URL, with Prismatic's retry options."""

from studio.catalog.models import Action

from .common import T, connection, field, src

ACTIONS = [
    Action(
        id="raw.request", kind="action", title="Raw Request", category="Advanced",
        endpoints=["any path under the connection's base URL"],
        description="Send raw HTTP request to OpenAI",
        sources=src("prismatic", "Raw Request"),
        inputs=[
            connection(),
            field("url", "URL", T.STRING,
                  "Input the path only (/v1/images/generations), The base URL is already included "
                  "(https://api.openai.com). For example, to connect to https://api.openai.com/v1/images/generations, "
                  "only /v1/images/generations is entered in this field.", default="/v1/models", required=True),
            field("method", "Method", description="The HTTP method to use.",
                  options=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"], default="GET"),
            field("data", "Data", T.JSON, "The HTTP body payload to send to the URL."),
            field("form_data", "Form Data", T.KEY_VALUE, "The Form Data to be sent as a multipart form upload."),
            field("file_data", "File Data", T.KEY_VALUE, "File Data to be sent as a multipart form upload. A text value is sent as the file's "
                  "content; to send a file, give {\"path\": \"data/report.pdf\"} (relative to the flow's folder) "
                  "or an upstream node's file."),
            field("file_data_file_names", "File Data File Names", T.KEY_VALUE,
                  "File names to apply to the file data inputs. Keys must match the file data keys above."),
            field("query_params", "Query Parameter", T.KEY_VALUE,
                  "A list of query parameters to send with the request. This is the portion at the end of the URL "
                  "similar to ?key1=value1&key2=value2."),
            field("headers", "Header", T.KEY_VALUE, "A list of headers to send with the request."),
            field("response_type", "Response Type",
                  description="The type of data you expect in the response. You can request json, text, or binary "
                  "data.", options=["json", "text", "binary"], default="json"),
            field("timeout", "Timeout", T.INTEGER,
                  "The maximum time that a client will await a response to its request", minimum=0),
            field("debug_request", "Debug Request", T.BOOLEAN, "Enabling this flag will log out the current request.",
                  default=False),
            field("retry_delay_ms", "Retry Delay (ms)", T.INTEGER,
                  "The delay in milliseconds between retries. This is used when 'Use Exponential Backoff' is "
                  "disabled.", default=0, minimum=0),
            field("retry_on_all_errors", "Retry On All Errors", T.BOOLEAN,
                  "If true, retries on all erroneous responses regardless of type. This is helpful when retrying "
                  "after HTTP 429 or other 3xx or 4xx errors. Otherwise, only retries on HTTP 5xx and network errors.",
                  default=False),
            field("max_retry_count", "Max Retry Count", T.INTEGER,
                  "The maximum number of retries to attempt. Specify 0 for no retries.", default=0, minimum=0,
                  maximum=10),
            field("use_exponential_backoff", "Use Exponential Backoff", T.BOOLEAN,
                  "Specifies whether to use a pre-defined exponential backoff strategy for retries. When enabled, "
                  "'Retry Delay (ms)' is ignored.", default=False),
        ],
    ),
]
