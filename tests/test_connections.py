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
