"""How the package installs: runtime/ and layers/ live under ad_compiler.

A user's working directory often holds its own ``runtime.py`` or
``layers.py``; neither may shadow ours.
"""
import subprocess
import sys
import textwrap


def test_user_modules_named_runtime_and_layers_do_not_shadow_ours(tmp_path):
    (tmp_path / "runtime.py").write_text("raise ImportError('the user runtime.py was imported')\n")
    (tmp_path / "layers.py").write_text("raise ImportError('the user layers.py was imported')\n")
    script = textwrap.dedent("""
        import ad_compiler, ad_compiler.layers, ad_compiler.runtime
        from ad_compiler import gradient
        assert gradient(lambda x: x * x, 3.0) == (6.0,)
        print(ad_compiler.runtime.__name__, ad_compiler.layers.__name__)
    """)
    (tmp_path / "main.py").write_text(script)    # gradient needs source to read
    out = subprocess.run([sys.executable, "main.py"], cwd=str(tmp_path),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["ad_compiler.runtime", "ad_compiler.layers"]


def test_no_generic_top_level_names_are_installed():
    import importlib.metadata as md
    files = md.distribution("ad-compiler").read_text("top_level.txt") or ""
    assert set(files.split()) <= {"ad_compiler"}


def test_every_package_folder_is_installed():
    """pyproject lists packages by hand (runtime/ and layers/ are mapped
    under ad_compiler); a new folder missing there would be left out of a
    wheel while an editable install still finds it."""
    import os
    import re
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    text = open(os.path.join(root, "pyproject.toml")).read()
    listed = set(re.findall(r'"(ad_compiler[\w.]*)"', text.split("packages = [")[1].split("]")[0]))
    found = set()
    for folder, name in (("ad_compiler", "ad_compiler"), ("runtime", "ad_compiler.runtime"),
                         ("layers", "ad_compiler.layers")):
        for dirpath, _, files in os.walk(os.path.join(root, folder)):
            if "__init__.py" in files and "__pycache__" not in dirpath:
                rel = os.path.relpath(dirpath, os.path.join(root, folder))
                found.add(name if rel == "." else name + "." + rel.replace(os.sep, "."))
    assert found == listed
