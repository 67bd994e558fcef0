"""``pytest difftest`` from a clone that is not installed: register the plugin (difftest.plugin).

Installed, the ``pytest11`` entry point ``difftest`` has already registered it
(options, hooks, summary), and this does nothing: everything is defined once,
in difftest/plugin.py.
"""

from difftest import plugin


def pytest_addhooks(pluginmanager):
    if not pluginmanager.is_registered(plugin):
        pluginmanager.register(plugin, "difftest")
