"""Check book/api.md against the code: every name listed exists, every
signature shown equals inspect.signature (annotations aside), and every public
name of each module is listed.

Usage: python tests/check_api_page.py book/api.md    (exit status 1 on any
mismatch); tests/test_api_page.py runs it.
"""

import ast
import importlib
import inspect
import pathlib
import re
import sys

API_PAGE = pathlib.Path(__file__).resolve().parents[1] / "book" / "api.md"

SECTION = re.compile(r"^## `(?P<module>[\w.]+)`")
ITEM = re.compile(r"^- (?P<head>.*?)(?: —|$)")
SPAN = re.compile(r"`([^`]+)`")
ELLIPSIS = object()


def resolve(module_name, dotted):
    package = importlib.import_module(module_name.split(".")[0])
    module = importlib.import_module(module_name)
    # look names up as attributes of the package, as a reader does
    # (gdbook.minimize is the function)
    obj = package
    for part in module_name.split(".")[1:]:
        obj = getattr(obj, part)
    owner = None
    for part in dotted.split("."):
        owner, obj = obj, getattr(obj, part)
    return module, owner, obj


def shown_parameters(sig_text, namespace):
    tree = ast.parse(f"def _f{sig_text}: pass")
    args = tree.body[0].args
    out = []
    positional = args.posonlyargs + args.args
    defaults = [None] * (len(positional) - len(args.defaults)) + list(
        args.defaults
    )
    for a, d in zip(positional, defaults, strict=True):
        kind = (
            "POSITIONAL_ONLY"
            if a in args.posonlyargs
            else "POSITIONAL_OR_KEYWORD"
        )
        out.append((a.arg, kind, evaluate(d, namespace)))
    if args.vararg:
        out.append((args.vararg.arg, "VAR_POSITIONAL", None))
    for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        out.append((a.arg, "KEYWORD_ONLY", evaluate(d, namespace)))
    if args.kwarg:
        out.append((args.kwarg.arg, "VAR_KEYWORD", None))
    return out


def evaluate(node, namespace):
    if node is None:
        return None
    if isinstance(node, ast.Constant) and node.value is Ellipsis:
        return ELLIPSIS
    return (
        "value",
        eval(compile(ast.Expression(node), "<api.md>", "eval"), namespace),
    )


def actual_parameters(obj, owner):
    sig = inspect.signature(obj)
    params = list(sig.parameters.values())
    if (
        inspect.isclass(owner)
        and not inspect.isclass(obj)
        and params
        and params[0].name in ("self", "cls")
    ):
        raw = inspect.getattr_static(owner, obj.__name__)
        if not isinstance(raw, staticmethod):
            params = params[1:]
    out = []
    for p in params:
        default = None if p.default is p.empty else ("value", p.default)
        out.append((p.name, p.kind.name, default))
    return out


def same_default(shown, actual):
    if shown is ELLIPSIS:
        return actual is not None
    if shown is None or actual is None:
        return shown is actual
    a, b = shown[1], actual[1]
    if (
        inspect.isclass(a)
        or inspect.isclass(b)
        or isinstance(a, tuple)
        and a
        and hasattr(a[0], "__dataclass_fields__")
    ):
        return a is b or a == b
    return type(a) is type(b) and repr(a) == repr(b)


def reexported(value, module_name):
    """True when ``value`` is a constant imported from another gdbook module
    rather than defined here (gdbook.minimize and gdbook.sweeps import
    gdbook.optim.OPTIMIZERS, for example)."""
    for other_name, other in list(sys.modules.items()):
        if (
            other is None
            or other_name == module_name
            or not other_name.startswith("gdbook")
        ):
            continue
        if other_name.startswith(
            module_name + "."
        ):  # a package re-exporting its own submodule
            continue
        if hasattr(other, "__all__") and any(
            getattr(other, n, None) is value for n in other.__all__
        ):
            return True
    return False


def public_names(module_name):
    module = importlib.import_module(module_name)
    if module_name == "gdbook":
        return {
            n
            for n in module.__all__
            if not inspect.ismodule(getattr(module, n))
        }
    if hasattr(module, "__all__"):
        return set(module.__all__)
    names = set()
    for n, v in vars(module).items():
        if n.startswith("_") or inspect.ismodule(v):
            continue
        if getattr(v, "__module__", None) == module_name:
            names.add(n)
        elif (
            n.isupper() and not callable(v) and not reexported(v, module_name)
        ):
            names.add(n)
    return names


def main(path):
    import torch  # noqa: F401  (for defaults such as torch.nn.ReLU)

    errors, checked_names, checked_sigs, listed = [], 0, 0, {}
    module_name = None
    for lineno, line in enumerate(open(path, encoding="utf-8"), start=1):
        m = SECTION.match(line)
        if m:
            module_name = m.group("module")
            listed.setdefault(module_name, set())
            continue
        m = ITEM.match(line)
        if not (m and module_name):
            continue
        for span in SPAN.findall(m.group("head")):
            name, _, rest = span.partition("(")
            try:
                module, owner, obj = resolve(module_name, name)
            except (AttributeError, ImportError) as e:
                errors.append(
                    f"line {lineno}: {module_name}.{name} does not exist ({e})"
                )
                continue
            checked_names += 1
            listed[module_name].add(name.split(".")[0])
            if not rest:
                continue
            namespace = dict(vars(module))
            namespace["torch"] = torch
            try:
                shown = shown_parameters("(" + rest, namespace)
            except SyntaxError as e:
                errors.append(
                    f"line {lineno}: cannot parse the signature of {name}: {e}"
                )
                continue
            actual = actual_parameters(obj, owner)
            checked_sigs += 1
            if [(n, k) for n, k, _ in shown] != [(n, k) for n, k, _ in actual]:
                errors.append(
                    f"line {lineno}: {module_name}.{name}: parameters shown "
                    f"{[(n, k) for n, k, _ in shown]}"
                    f" but the code has {[(n, k) for n, k, _ in actual]}"
                )
                continue
            for (n, _, d_shown), (_, _, d_actual) in zip(
                shown, actual, strict=True
            ):
                if not same_default(d_shown, d_actual):
                    shown_default = (
                        d_shown and d_shown[1]
                        if d_shown is not ELLIPSIS
                        else "..."
                    )
                    errors.append(
                        f"line {lineno}: {module_name}.{name}: default of "
                        f"{n} shown as {shown_default!r} "
                        f"but is {d_actual and d_actual[1]!r}"
                    )
    missing = {
        m: sorted(public_names(m) - names) for m, names in listed.items()
    }
    for m, names in missing.items():
        for n in names:
            errors.append(f"{m}.{n} is public but not listed")
    print(
        f"{len(listed)} module sections, {checked_names} names found in the "
        "code, "
        f"{checked_sigs} signatures compared with inspect.signature"
    )
    for e in errors:
        print("ERROR", e)
    print("OK" if not errors else f"{len(errors)} problem(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else str(API_PAGE)))
