"""Source connections are read the way Airflow defines them, without leaking secrets."""

import json

import pytest

from umkm.connections import ConnectionNotConfigured, from_env, get_connection


def test_uri_with_client_credentials():
    conn = from_env(
        "umkm_tokopedia",
        {"AIRFLOW_CONN_UMKM_TOKOPEDIA": "http://client%40x:s3cr%2Ft@127.0.0.1:8101"},
    )
    assert conn.base_url == "http://127.0.0.1:8101"
    assert conn.login == "client@x"
    assert conn.password == "s3cr/t"
    assert "s3cr" not in repr(conn)


def test_uri_query_becomes_extra():
    env = {"AIRFLOW_CONN_UMKM_SHOPEE": "http://127.0.0.1:8103?partner_id=77&partner_key=k3y"}
    conn = from_env("umkm_shopee", env)
    assert conn.extra == {"partner_id": "77", "partner_key": "k3y"}
    assert conn.base_url == "http://127.0.0.1:8103"


def test_uri_extra_as_json():
    extra = json.dumps({"api_key": "abc"})
    env = {"AIRFLOW_CONN_UMKM_BLIBLI": f"http://127.0.0.1:9?__extra__={extra}"}
    assert from_env("umkm_blibli", env).extra == {"api_key": "abc"}


def test_json_form_and_base_path():
    env = {
        "AIRFLOW_CONN_UMKM_KEMENKOPUKM": json.dumps(
            {"conn_type": "http", "host": "https://data.example.go.id/ckan", "password": "tok"}
        )
    }
    conn = from_env("umkm_kemenkopukm", env)
    assert conn.base_url == "https://data.example.go.id/ckan"
    assert conn.password == "tok"


def test_https_and_path_kept():
    env = {"AIRFLOW_CONN_UMKM_ALERT_WEBHOOK": "https://hooks.example.com/services/T/B/X"}
    assert (
        from_env("umkm_alert_webhook", env).base_url == "https://hooks.example.com/services/T/B/X"
    )


def test_missing_connection_names_the_variable(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_UMKM_NOWHERE", raising=False)
    with pytest.raises(ConnectionNotConfigured, match="AIRFLOW_CONN_UMKM_NOWHERE"):
        get_connection("umkm_nowhere")


def test_connections_file_is_a_fallback(tmp_path, monkeypatch):
    file = tmp_path / "connections.env"
    file.write_text(
        "AIRFLOW_CONN_UMKM_KOMINFO='http://127.0.0.1:8110'\n"
        "export AIRFLOW_CONN_UMKM_BPS=http://127.0.0.1:8111\n"
    )
    monkeypatch.setenv("UMKM_CONNECTIONS_FILE", str(file))
    monkeypatch.delenv("AIRFLOW_CONN_UMKM_KOMINFO", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_UMKM_BPS", raising=False)
    assert get_connection("umkm_kominfo").base_url == "http://127.0.0.1:8110"
    monkeypatch.setenv("AIRFLOW_CONN_UMKM_BPS", "http://10.0.0.9:80")
    assert get_connection("umkm_bps").base_url == "http://10.0.0.9:80"  # env wins


@pytest.mark.parametrize(
    ("uri", "allowed"),
    [
        ("http://id:secret@10.0.0.5:8000", False),  # credentials in clear to another machine
        ("http://id:secret@127.0.0.1:8000", True),  # loopback
        ("http://id:secret@localhost:8000", True),
        ("https://id:secret@partner.example:443", True),
        ("http://partner.example:8000", True),  # nothing to protect
    ],
)
def test_credentials_travel_over_plain_http_only_to_loopback(monkeypatch, uri, allowed):
    from umkm.connections import InsecureConnection, check_transport, parse_uri

    monkeypatch.delenv("UMKM_ALLOW_PLAIN_HTTP", raising=False)
    conn = parse_uri("umkm_tokopedia", uri)
    if allowed:
        check_transport(conn)
        return
    with pytest.raises(InsecureConnection) as caught:
        check_transport(conn)
    message = str(caught.value)
    assert "10.0.0.5" in message and "use https in AIRFLOW_CONN_UMKM_TOKOPEDIA" in message
    assert "secret" not in message
    monkeypatch.setenv("UMKM_ALLOW_PLAIN_HTTP", "1")  # a private network, said explicitly
    check_transport(conn)


def test_an_api_key_does_not_follow_a_redirect_to_another_host():
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from umkm.connectors.http import HttpClient, Request

    seen: list[dict[str, str]] = []

    class Elsewhere(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(dict(self.headers))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    elsewhere = ThreadingHTTPServer(("127.0.0.1", 0), Elsewhere)
    target = f"http://127.0.0.1:{elsewhere.server_address[1]}/landing"

    class Partner(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    partner = ThreadingHTTPServer(("127.0.0.1", 0), Partner)
    for server in (elsewhere, partner):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{partner.server_address[1]}"
        with HttpClient(base, "bukalapak", "2017-11-15") as client:
            answer = client.fetch(
                Request("GET", "/api/stores", headers={"X-Api-Key": "k-123", "Accept": "x/y"})
            )
        assert answer.status == 200
        [headers] = seen
        assert "X-Api-Key" not in headers and "x-api-key" not in {k.lower() for k in headers}
        assert headers.get("Accept") == "x/y"  # only credentials are dropped
    finally:
        for server in (elsewhere, partner):
            server.shutdown()
            server.server_close()


def test_warehouse_url_hides_the_password_unless_asked(monkeypatch, capsys):
    from umkm.cli import main
    from umkm.warehouse.db import without_password

    monkeypatch.setenv("WAREHOUSE_URL", "postgresql://umkm:s3cr%40t@db.example:5432/umkm")
    assert main(["warehouse", "url"]) == 0
    shown = capsys.readouterr().out.strip()
    assert "s3cr" not in shown and ":***@" in shown
    assert main(["warehouse", "url", "--show-password"]) == 0
    assert "s3cr%40t" in capsys.readouterr().out
    assert without_password("postgresql://umkm:s3cr%40t@db.example:5432/umkm") == (
        "postgresql://umkm@db.example:5432/umkm",
        "s3cr@t",
    )


def test_without_a_pii_key_the_pipeline_refuses_outside_development_mode(monkeypatch, capsys):
    from umkm.cli import main
    from umkm.transform.dbt import DEV_PII_KEY, PiiKeyMissing, dbt_environment, pii_key

    monkeypatch.delenv("UMKM_PII_KEY", raising=False)
    monkeypatch.delenv("UMKM_DEV_MODE", raising=False)
    with pytest.raises(PiiKeyMissing, match="UMKM_PII_KEY is not set"):
        dbt_environment("postgresql://u@127.0.0.1:1/x")
    monkeypatch.setenv("WAREHOUSE_URL", "postgresql://u@127.0.0.1:1/x")
    assert main(["run", "--snapshot", "2017-11-15"]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "UMKM_DEV_MODE=1" in err and "Traceback" not in err
    monkeypatch.setenv("UMKM_DEV_MODE", "1")
    assert pii_key() == DEV_PII_KEY
    monkeypatch.setenv("UMKM_PII_KEY", "a-long-random-value")
    assert pii_key() == "a-long-random-value"
    assert "umkm.pii_key=a-long-random-value" in dbt_environment("postgresql://u@h/x")["PGOPTIONS"]
