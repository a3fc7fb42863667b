"""Jinja templates for whole pages: the theme, a project's overrides, one typed context."""

from __future__ import annotations

import functools
from pathlib import Path

import jinja2
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

from topicgen.content.topic import not_utf8
from topicgen.errors import ContentError, jinja_location


def theme_dir() -> Path:
    """The default theme: shipped in the wheel as topicgen/theme, or templates/ in a checkout."""
    packaged = Path(__file__).resolve().parent.parent / "theme"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "templates"


class TemplateLoader(jinja2.FileSystemLoader):
    """Jinja's file loader, but a template that cannot be read is an error naming its file."""

    def get_source(self, environment, template):
        try:
            return super().get_source(environment, template)
        except jinja2.TemplateNotFound:  # an OSError too, but the next loader may have it
            raise
        except UnicodeDecodeError as error:
            raise not_utf8(error, self.path_of(template)) from None
        except OSError as error:
            raise ContentError(f"cannot read: {error.strerror}", self.path_of(template)) from None

    def path_of(self, template: str) -> Path:
        candidates = (Path(folder) / template for folder in self.searchpath)
        return next((path for path in candidates if path.is_file()), Path(template))


@functools.lru_cache(maxsize=8)
def make_environment(project: Path | None) -> jinja2.Environment:
    """Templates are looked up in the project's templates/ first, so any can be overridden
    (`project` None: the default theme alone); "theme/NAME" is always the theme's, for an
    override that extends the template it replaces.

    Sandboxed because an override arrives with the content, in a pull request like a chapter.
    """
    folders = [theme_dir()] if project is None else [project / "templates", theme_dir()]
    theme = jinja2.PrefixLoader({"theme": TemplateLoader(theme_dir())})
    loader = jinja2.ChoiceLoader([TemplateLoader(folder) for folder in folders] + [theme])
    env = SandboxedEnvironment(loader=loader, autoescape=jinja2.select_autoescape(["html"]),
                               undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["math"] = inline_math
    env.filters["ranges"] = ranges
    return env


def ranges(numbers: list[int]) -> str:
    """Whole numbers with each run of consecutive ones as first–last: "0–23, 40" for a
    report's seeds, which a phone showed as a column of 24 numbers."""
    runs: list[list[int]] = []
    for number in numbers:
        if runs and number == runs[-1][-1] + 1:
            runs[-1].append(number)
        else:
            runs.append([number])
    return ", ".join(f"{run[0]}" if len(run) == 1 else f"{run[0]}, {run[1]}" if len(run) == 2
                     else f"{run[0]}–{run[-1]}" for run in runs)


def inline_math(text: str, prefix: str) -> Markup:
    """`text` escaped, with each `$...$` typeset as inline math (claim statements are written
    by experiments in this form). `prefix` makes the formulas' SVG ids unique in the page."""
    from topicgen.mathtex import INLINE, MathError, render_math
    from topicgen.svg import prefix_ids

    out = []
    for index, part in enumerate(INLINE.split(text)):
        if index % 2 == 0:
            out.append(str(escape(part.replace("\\$", "$"))))  # \$: a dollar sign
            continue
        try:
            svg = render_math(part, display=False)
        except MathError as error:
            raise ContentError(f'cannot typeset ${part}$ in "{text}": {error}') from None
        out.append(f'<span class="math">{prefix_ids(svg, f"{prefix}-{index}")}</span>')
    return Markup("".join(out))


def render_page(project: Path, template: str, context: object) -> str:
    """Render `template` with `context` (a dataclass) as `page`; errors name file:line. A page
    built with the project's template overrides must fetch nothing from elsewhere."""
    page = render_template(project, template, page=context)
    overrides = project / "templates"
    if overrides.is_dir() and any(overrides.iterdir()):
        check_offline(page, overrides)
    return page


def check_offline(page: str, overrides: Path) -> None:
    from topicgen.pages.offline import page_fetch, where_written

    if found := page_fetch(page):
        what, address = found
        path, line = where_written(overrides, address)
        raise ContentError(f"the page would fetch from elsewhere: {what} {address}; a page is "
                           "read offline, so its styles, images and fonts are inlined (data: "
                           "URLs)", path, line)


def render_template(project: Path | None, template: str, **context: object) -> str:
    """Render `template` of the project (or of the theme alone); errors name file:line."""
    env = make_environment(project)
    try:
        return env.get_template(template).render(**context)
    except jinja2.TemplateSyntaxError as error:
        raise ContentError(f"template syntax: {error.message}", error.filename or template,
                           error.lineno) from None
    except jinja2.TemplateNotFound as error:
        where = f"{project / 'templates'} or the default theme" if project else "the theme"
        raise ContentError(f'template "{error.name}" not found in {where}',
                           *jinja_location()) from None
    except (jinja2.TemplateError, TypeError, ValueError, ArithmeticError, LookupError) as error:
        path, line = jinja_location()
        raise ContentError(str(error), path or f"template {template}", line) from None
    except RecursionError:  # an override of handout.html that extends "handout.html": itself
        path, line = jinja_location()
        raise ContentError("the template extends or includes itself, endlessly; to build on "
                           'the default theme\'s, extend "theme/NAME" (such as '
                           f'{{% extends "theme/{template}" %}})', path or f"template {template}",
                           line) from None
