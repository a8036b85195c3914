"""Trust is remembered per file content: a changed file asks again."""

from studio.credentials.trust import TrustStore


def test_trust_is_kept_per_file_hash(tmp_path):
    store = TrustStore(tmp_path / "trusted.json")
    flow = b'{"nodes": [{"action": "agent.add_local_mcp_server"}]}'
    assert not store.is_trusted(flow)
    store.trust(flow)
    assert store.is_trusted(flow)
    assert not store.is_trusted(flow + b" ")  # edited elsewhere: asks again
    assert TrustStore(tmp_path / "trusted.json").is_trusted(flow)  # survives a restart


def test_files_saved_here_are_the_users_own(tmp_path):
    store = TrustStore(tmp_path / "trusted.json")
    store.remember_own(b"mine")
    assert store.is_trusted(b"mine")


def test_a_corrupt_store_trusts_nothing(tmp_path):
    path = tmp_path / "trusted.json"
    path.write_text("{not json")
    assert not TrustStore(path).is_trusted(b"anything")
