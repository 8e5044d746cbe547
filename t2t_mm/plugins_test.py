"""Plugins by consent: trusted folders, their digests, and imports that touch no sys.path."""

import json
import sys

import pytest

from t2t_mm import errors
from t2t_mm import plugins


@pytest.fixture
def trust_file(tmp_path, monkeypatch):
  path = tmp_path / "config" / "trusted_plugins.json"
  monkeypatch.setenv(plugins.TRUST_FILE_ENV, str(path))
  # What this process records as loaded goes into every problems.json it writes later.
  monkeypatch.setattr(plugins, "_usr_dirs", list(plugins._usr_dirs))
  return path


def _package(folder, body="VALUE = 1\n"):
  folder.mkdir(parents=True)
  (folder / "__init__.py").write_text(body)
  return folder


def test_a_folder_is_trusted_with_its_digest_and_an_edit_revokes_it(tmp_path, trust_file):
  pkg = _package(tmp_path / "consent_pkg_a")
  with pytest.raises(errors.ConfigError, match=r"not trusted.*--usr_dir="):
    plugins.check_trusted(str(pkg), "The run R names")
  plugins.trust_folder(str(pkg))
  plugins.check_trusted(str(pkg), "The run R names")
  assert list(json.loads(trust_file.read_text())["folders"]) == [str(pkg.resolve())]
  (pkg / "sub.py").write_text("print('new code')\n")
  with pytest.raises(errors.ConfigError, match="changed since you trusted it"):
    plugins.check_trusted(str(pkg), "The run R names")


def test_a_symlink_is_trusted_as_the_folder_it_resolves_to(tmp_path, trust_file):
  pkg = _package(tmp_path / "real" / "consent_pkg_b")
  link = tmp_path / "link"
  link.symlink_to(pkg)
  plugins.trust_folder(str(link))
  plugins.check_trusted(str(pkg), "The run R names")
  other = _package(tmp_path / "other" / "consent_pkg_b")
  with pytest.raises(errors.ConfigError, match="not trusted"):
    plugins.check_trusted(str(other), "The run R names")


def test_an_unreadable_trust_file_is_named(trust_file):
  trust_file.parent.mkdir(parents=True)
  trust_file.write_text("{not json")
  with pytest.raises(errors.ConfigError, match="trusted_plugins.json is unreadable"):
    plugins.check_trusted("/nowhere", "The run R names")


def test_import_usr_dir_puts_no_folder_on_sys_path(tmp_path, trust_file):
  parent = tmp_path / "parent"
  pkg = _package(parent / "consent_pkg_c", "from consent_pkg_c import sub\nVALUE = sub.X\n")
  (pkg / "sub.py").write_text("X = 7\n")
  (parent / "json_shadow_probe.py").write_text("raise RuntimeError('shadow imported')\n")
  path_before = list(sys.path)
  try:
    plugins.import_usr_dir(str(pkg))
    assert sys.modules["consent_pkg_c"].VALUE == 7  # Submodules load through __path__.
    assert sys.path == path_before
    with pytest.raises(ImportError):
      __import__("json_shadow_probe")
    assert str(pkg.resolve()) in json.loads(trust_file.read_text())["folders"]
  finally:
    for name in ("consent_pkg_c", "consent_pkg_c.sub"):
      sys.modules.pop(name, None)


def test_a_failed_plugin_import_leaves_no_half_module(tmp_path, trust_file):
  pkg = _package(tmp_path / "consent_pkg_d", "raise ValueError('broken plugin')\n")
  with pytest.raises(ValueError, match="broken plugin"):
    plugins.import_usr_dir(str(pkg))
  assert "consent_pkg_d" not in sys.modules
