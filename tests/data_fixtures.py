"""Fixtures shared by the dataset tests; a test module loads them with
``pytest_plugins = ["tests.data_fixtures"]``."""

import socket

import pytest

from dl_vision_labs import environment


@pytest.fixture
def offline(shared_data, monkeypatch):
    """``LABS_DATA_DIR`` points at the shared offline data folder."""
    monkeypatch.setenv(environment.DATA_DIR, str(shared_data))
    return shared_data


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network connection fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("the offline path tried to use the network")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
