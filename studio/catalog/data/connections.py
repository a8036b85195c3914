"""How flows authenticate: one OpenAI connection type serving Prismatic's API key + organization,
ByteChef's bearer token and n8n's credential with its base URL option."""

from studio.catalog.models import ConnectionField, ConnectionType

from .common import src

CONNECTIONS = [
    ConnectionType(
        id="openai", title="OpenAI API Key",
        description="Connect to OpenAI — or any OpenAI-compatible server — using an API key. The key is kept in "
                    "the credential store, never in a flow file.",
        sources=src("prismatic", "OpenAI API Key") + src("bytechef", "Bearer Token") + src("n8n", "OpenAI credentials"),
        fields=[
            ConnectionField(key="api_key", label="API Key", aliases=["Token"], secret=True, required=True,
                            description="Generate an API key at https://platform.openai.com/account/api-keys"),
            ConnectionField(key="organization", label="Organization",
                            description="Your organization ID. If you have just one organization, this value is "
                                        "optional."),
            ConnectionField(key="base_url", label="Base URL", default="https://api.openai.com/v1",
                            description="The API's base URL; point it at any OpenAI-compatible server."),
        ],
    ),
]
