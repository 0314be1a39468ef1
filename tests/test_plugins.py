"""The plugin manager: registration, listing, duplicates, unknown names, failing plugins."""

import importlib.metadata

import pytest

from mezoo import hookimpl, plugins
from mezoo.errors import DuplicateComponentError, MezooWarning, PluginError, UnknownComponentError
from tests.conftest import registered


class ExtraFusion:
    """Stands in for a fusion head class; the registry stores whatever it is given."""


class ExtraPlugin:
    __name__ = "extra"

    @hookimpl
    def register_fusions(self, register):
        register(ExtraFusion, name="Extra-Fusion")


def test_builtins_are_registered():
    assert {"farneback"} <= set(plugins.names("displacement"))
    assert {"fu_b_attn", "fu_a_attn", "vit_grid"} <= set(plugins.names("fusion"))
    assert "synthetic" in plugins.names("dataset")


def test_inline_plugin_registers_and_lists():
    with registered(ExtraPlugin(), "extra"):
        assert plugins.get("fusion", "extra_fusion") is ExtraFusion
        assert plugins.get("fusion", "EXTRA-FUSION") is ExtraFusion  # names are normalised
        info = {i["name"]: i for i in plugins.plugin_info()}
        assert info["extra"]["components"] == {"fusion": ["extra_fusion"]}
        assert info["extra"]["hooks"] == ["register_fusions"]
    assert "extra_fusion" not in plugins.names("fusion")


def test_builtins_hidden_unless_all():
    listed = {i["name"] for i in plugins.plugin_info()}
    assert not listed & set(plugins.DEFAULT_PLUGINS)
    listed_all = {i["name"]: i for i in plugins.plugin_info(include_builtin=True)}
    assert set(plugins.DEFAULT_PLUGINS) <= set(listed_all)
    assert listed_all["mezoo.default_plugins.fusions"]["distribution"] == "mezoo"


def test_duplicate_name_names_both_plugins():
    class Clash:
        @hookimpl
        def register_fusions(self, register):
            register(ExtraFusion, name="fu_b_attn")

    with registered(Clash(), "clash"):
        with pytest.raises(DuplicateComponentError) as info:
            plugins.registrations("fusion")
    message = str(info.value)
    assert "'fu_b_attn'" in message
    assert "mezoo.default_plugins.fusions" in message and "'clash'" in message


def test_unknown_name_lists_valid_names():
    with pytest.raises(UnknownComponentError) as info:
        plugins.get("fusion", "xyz")
    assert isinstance(info.value, KeyError)
    assert str(info.value).startswith("unknown fusion 'xyz'; expected one of: ")
    for name in ("fu_a_attn", "fu_b_attn", "vit_grid"):
        assert name in str(info.value)


def test_registered_by_import_path_is_imported_on_use():
    class ByPath:
        @hookimpl
        def register_fusions(self, register):
            register("tests.test_plugins:ExtraFusion", name="by_path")
            register("tests.no_such_module:Head", name="missing_module")
            register("tests.test_plugins:NoSuchHead", name="missing_attribute")
            register("tests.test_plugins", name="no_attribute")

    with registered(ByPath(), "bypath"):
        regs = plugins.registrations("fusion")
        assert regs["by_path"].target == "tests.test_plugins:ExtraFusion"  # listed, not imported
        assert plugins.get("fusion", "by_path") is ExtraFusion
        with pytest.raises(PluginError, match="fusion 'missing_module' of plugin 'bypath' .* failed to import"):
            plugins.get("fusion", "missing_module")
        with pytest.raises(PluginError, match="tests.test_plugins has no 'NoSuchHead'"):
            plugins.get("fusion", "missing_attribute")
        with pytest.raises(PluginError, match="give 'package.module:Attribute'"):
            plugins.get("fusion", "no_attribute")


def test_plugin_raising_while_registering_is_named():
    class Broken:
        @hookimpl
        def register_datasets(self, register):
            raise RuntimeError("boom")

    with registered(Broken(), "broken"):
        with pytest.raises(PluginError, match="plugin 'broken' raised in register_datasets: RuntimeError: boom"):
            plugins.names("dataset")


def _fresh_manager(monkeypatch):
    """Give plugins.py a new, unloaded manager for the rest of the test."""
    import pluggy

    from mezoo import hookspecs

    pm = pluggy.PluginManager("mezoo")
    pm.add_hookspecs(hookspecs)
    monkeypatch.setattr(plugins, "pm", pm)
    monkeypatch.setattr(plugins, "_loaded", False)
    monkeypatch.setattr(plugins, "_distributions", {})
    return pm


class _FakeEntryPoint:
    def __init__(self, name, target):
        self.name, self.group, self._target = name, "mezoo", target

    def load(self):
        if isinstance(self._target, Exception):
            raise self._target
        return self._target


class _FakeDist:
    def __init__(self, name, entry_points):
        self.metadata = {"Name": name}
        self.version = "9.9"
        self.entry_points = entry_points


def test_entry_point_that_fails_to_import_is_named(monkeypatch):
    _fresh_manager(monkeypatch)
    dist = _FakeDist("mezoo-broken", [_FakeEntryPoint("broken", ImportError("no module named torchx"))])
    monkeypatch.setattr(importlib.metadata, "distributions", lambda: [dist])
    with pytest.raises(PluginError, match="plugin 'broken' from distribution mezoo-broken 9.9 failed to load"):
        plugins.load_plugins()


def test_load_plugins_env_var_selects_entry_points(monkeypatch):
    pm = _fresh_manager(monkeypatch)
    dists = [
        _FakeDist("mezoo-a", [_FakeEntryPoint("a", ExtraPlugin())]),
        _FakeDist("mezoo-b", [_FakeEntryPoint("b", ImportError("must not be loaded"))]),
    ]
    monkeypatch.setattr(importlib.metadata, "distributions", lambda: dists)
    monkeypatch.setenv("MEZOO_LOAD_PLUGINS", "mezoo-a")
    plugins.load_plugins()
    assert pm.get_plugin("a") is not None and pm.get_plugin("b") is None
    info = {i["name"]: i for i in plugins.plugin_info()}
    assert (info["a"]["distribution"], info["a"]["version"]) == ("mezoo-a", "9.9")
    assert set(plugins.DEFAULT_PLUGINS) <= {pm.get_name(p) for p in pm.get_plugins()}


class _Typo:
    @hookimpl
    def register_fusion(self, register):  # missing "s"
        register(ExtraFusion, name="typo_fusion")


class _WrongArguments:
    @hookimpl
    def register_fusions(self, registrar):  # pluggy refuses an argument the hook does not have
        pass


def test_plugins_with_invalid_hooks_are_named_skipped_and_warned_about(monkeypatch):
    pm = _fresh_manager(monkeypatch)
    dists = [_FakeDist("mezoo-typo", [_FakeEntryPoint("typo", _Typo())]),
             _FakeDist("mezoo-args", [_FakeEntryPoint("args", _WrongArguments())]),
             _FakeDist("mezoo-a", [_FakeEntryPoint("a", ExtraPlugin())])]
    monkeypatch.setattr(importlib.metadata, "distributions", lambda: dists)
    with pytest.warns(MezooWarning) as caught:
        plugins.load_plugins()
    messages = sorted(str(w.message) for w in caught)
    assert messages[0].startswith("plugin 'args' (distribution mezoo-args 9.9) skipped: ")
    assert messages[1].startswith("plugin 'typo' skipped: it implements register_fusion, which mezoo has no hook for")
    assert pm.get_plugin("typo") is None and pm.get_plugin("args") is None
    assert "extra_fusion" in plugins.names("fusion") and "typo_fusion" not in plugins.names("fusion")  # others work


def test_load_plugins_env_var_naming_nothing_says_so(monkeypatch):
    _fresh_manager(monkeypatch)
    monkeypatch.setattr(importlib.metadata, "distributions", lambda: [_FakeDist("mezoo-a", [_FakeEntryPoint("a", ExtraPlugin())])])
    monkeypatch.setenv("MEZOO_LOAD_PLUGINS", "a,nosuch")
    with pytest.warns(MezooWarning, match=r"MEZOO_LOAD_PLUGINS names 'nosuch', but no installed plugin"):
        plugins.load_plugins()
    assert "extra_fusion" in plugins.names("fusion")


def test_warnings_reach_the_command_line_as_one_line(monkeypatch):
    from click.testing import CliRunner

    from mezoo.cli import cli

    _fresh_manager(monkeypatch)
    monkeypatch.setattr(importlib.metadata, "distributions", lambda: [])
    monkeypatch.setenv("MEZOO_LOAD_PLUGINS", "nosuch")
    result = CliRunner().invoke(cli, ["plugins"])
    assert result.exit_code == 0
    assert "Warning: MEZOO_LOAD_PLUGINS names 'nosuch', but no installed plugin" in result.output
    assert "Traceback" not in result.output and "warnings.warn" not in result.output


def test_load_plugins_env_var_empty_loads_none(monkeypatch):
    pm = _fresh_manager(monkeypatch)
    dists = [_FakeDist("mezoo-a", [_FakeEntryPoint("a", ExtraPlugin())])]
    monkeypatch.setattr(importlib.metadata, "distributions", lambda: dists)
    monkeypatch.setenv("MEZOO_LOAD_PLUGINS", "")
    plugins.load_plugins()
    assert pm.get_plugin("a") is None


class DisplacementPlugin:
    @hookimpl
    def register_displacements(self, register):
        from mezoo.displacement import DisplacementProvider

        class Zero(DisplacementProvider):
            def __init__(self, scale: float = 1.0):
                super().__init__()
                self.scale = scale

            def forward(self, onset, apex, mask=None):
                return onset.new_zeros(onset.shape[0], 2, *onset.shape[2:]) * self.scale

        register(Zero, name="zero_motion")


def test_inline_displacement_provider_is_built_with_options():
    import torch

    with registered(DisplacementPlugin(), "zero"):
        provider = plugins.make("displacement", "zero_motion", scale=2.0)
        assert provider.scale == 2.0 and not provider.trainable
        assert provider(torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8)).shape == (2, 2, 8, 8)
        info = {i["name"]: i for i in plugins.plugin_info()}
        assert info["zero"]["components"] == {"displacement": ["zero_motion"]}


class AugmentationPlugin:
    @hookimpl
    def register_augmentations(self, register):
        from mezoo.augment import Augmentation

        class Darken(Augmentation):
            def __init__(self, factor: float = 0.5):
                self.factor = factor

            def __call__(self, onset, apex, displacement, landmarks, vector, generator):
                return onset * self.factor, apex * self.factor, displacement, landmarks

        register(Darken, name="darken")


def test_inline_augmentation_is_registered_and_built():
    import torch

    with registered(AugmentationPlugin(), "darken-plugin"):
        assert "motion_magnification" in plugins.names("augmentation")
        aug = plugins.make("augmentation", "darken", factor=0.25)
        onset, apex, _, _ = aug(torch.ones(1, 1, 2, 2), torch.ones(1, 1, 2, 2), None, torch.zeros(1, 68, 2), False,
                                torch.Generator())
        assert onset.max().item() == 0.25
