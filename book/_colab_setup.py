#@title Set-up for Colab (does nothing elsewhere) { display-mode: "form" }
import sys

if "google.colab" in sys.modules:  # install the book's package and its model, once per runtime
    import importlib
    import subprocess

    REPO = "https://github.com/inference-pitfalls/inference-pitfalls"
    subprocess.run(["bash", "-c", f"test -d /content/book || git clone -q --depth 1 {REPO} "
                    "/content/book && bash /content/book/book/colab_install.sh"], check=True)
    importlib.invalidate_caches()
