"""Say plainly which system libraries Qt's xcb plugin lacks, before Qt aborts with a cryptic error.

Run by `make run`; exits non-zero with the apt-get line to install them."""

from __future__ import annotations

import ctypes.util
import os
import sys

# Debian package -> shared library Qt 6's xcb platform plugin loads.
XCB_LIBRARIES = {
    "libxcb-cursor0": "xcb-cursor",
    "libxkbcommon-x11-0": "xkbcommon-x11",
    "libxcb-icccm4": "xcb-icccm",
    "libxcb-keysyms1": "xcb-keysyms",
    "libxcb-image0": "xcb-image",
    "libxcb-render-util0": "xcb-render-util",
    "libxcb-shape0": "xcb-shape",
    "libegl1": "EGL",
}


def missing_packages() -> list[str]:
    """Debian packages whose library cannot be found (empty off Linux or off xcb)."""
    if not sys.platform.startswith("linux"):
        return []
    if os.environ.get("QT_QPA_PLATFORM", "xcb").split(":")[0] not in ("xcb", ""):
        return []
    return [pkg for pkg, lib in XCB_LIBRARIES.items() if ctypes.util.find_library(lib) is None]


def main() -> int:
    missing = missing_packages()
    if missing:
        print(
            "Flow Studio's window needs system libraries that this machine lacks:\n  "
            + " ".join(missing)
            + "\nInstall them with:\n  sudo apt-get install " + " ".join(missing)
            + "\n(or run headless: QT_QPA_PLATFORM=offscreen, or `studio run FLOW.json`)",
            file=sys.stderr,
        )
        return 1
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) \
            and os.environ.get("QT_QPA_PLATFORM", "") in ("", "xcb"):
        print("No display found (DISPLAY is not set): start an X server or Xvfb, "
              "or use QT_QPA_PLATFORM=offscreen.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
