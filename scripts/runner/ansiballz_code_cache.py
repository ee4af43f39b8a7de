"""Compiled-code cache for AnsiballZ payloads, installed into the TEST venvs only (never shipped).

Every module run unpacks its AnsiballZ zip and imports ansible-core's module_utils and ours from it.
zipimport cannot cache bytecode, so each run compiles ~80 source files again -- twice, because
``zipimporter.get_filename`` compiles too -- which measured 0.19 of the 0.45 CPU-seconds a module run
costs. The suite runs about 1,500 modules; this hook keeps each compiled module, keyed by the
interpreter's bytecode magic, the file's path inside the payload and its exact source, so a changed
source is always compiled afresh. The module still runs from its payload, in its own process.

The runner installs it with a ``.pth`` line calling ``install()`` before the integration targets run and removes it again when
``CT_ANSIBALLZ_CODE_CACHE=0`` (ansible-test passes no variables of ours on to the modules it runs).
"""

import os
import sys
import zipimport

PAYLOAD_SUFFIX = "_payload.zip"  # AnsiballZ names its module zip ansible_<module>_payload.zip
CACHE_DIR = os.path.join(sys.prefix, "ansiballz-code-cache")


class CachingZipImporter(zipimport.zipimporter):
    """A zipimporter that reuses compiled code for sources it has compiled before."""

    def get_filename(self, fullname):
        # zipimporter.get_filename compiles the module to find its path: name it without compiling.
        if self.get_source(fullname) is None:
            return super().get_filename(fullname)  # bytecode only: nothing of ours to cache
        name = fullname.rpartition(".")[2]
        suffix = os.path.join(name, "__init__.py") if self.is_package(fullname) else name + ".py"
        return os.path.join(self.archive, self.prefix, suffix)

    def get_code(self, fullname):
        source = self.get_source(fullname)
        if source is None:
            return super().get_code(fullname)
        filename = self.get_filename(fullname)
        inner = os.path.relpath(filename, self.archive)
        path = _cache_path(inner, source)
        code = _load(path)
        if code is None:
            code = compile(source, inner, "exec", dont_inherit=True)
            _store(path, code)
        return _with_filename(code, filename)


# The imports below wait until a payload is imported: every interpreter of the venv loads this file at start.
def _cache_path(inner, source):
    import hashlib  # pylint: disable=import-outside-toplevel
    import importlib.util  # pylint: disable=import-outside-toplevel

    digest = hashlib.sha256(importlib.util.MAGIC_NUMBER + inner.encode() + b"\0" + source.encode())
    return os.path.join(CACHE_DIR, digest.hexdigest() + ".code")


def _load(path):
    import marshal  # pylint: disable=import-outside-toplevel

    try:
        with open(path, "rb") as stream:
            return marshal.load(stream)
    except (OSError, EOFError, ValueError, TypeError):
        return None


def _store(path, code):
    import marshal  # pylint: disable=import-outside-toplevel
    import tempfile  # pylint: disable=import-outside-toplevel

    try:
        os.makedirs(CACHE_DIR, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=CACHE_DIR, suffix=".part")
        with os.fdopen(handle, "wb") as stream:
            marshal.dump(code, stream)
        os.replace(temp, path)  # readers see a whole file or none
    except OSError:
        pass  # a cache that cannot be written only costs the compile it would have saved


def _with_filename(code, filename):
    """The cached code, naming this run's payload in tracebacks like a fresh compile would."""
    consts = tuple(_with_filename(const, filename) if isinstance(const, type(code)) else const for const in code.co_consts)
    return code.replace(co_filename=filename, co_consts=consts)


def _path_hook(path):
    # The payload itself, or a package directory inside it (a package's __path__ is <zip>/<package>).
    if not (path.endswith(PAYLOAD_SUFFIX) or PAYLOAD_SUFFIX + os.sep in path):
        raise ImportError("not an AnsiballZ payload")
    return CachingZipImporter(path)


def install():
    """Put the hook before zipimport's (the venv's .pth line calls this at interpreter start)."""
    if _path_hook not in sys.path_hooks:
        sys.path_hooks.insert(0, _path_hook)
        sys.path_importer_cache.clear()


def uninstall():
    if _path_hook in sys.path_hooks:
        sys.path_hooks.remove(_path_hook)
        sys.path_importer_cache.clear()
