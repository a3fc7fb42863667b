"""Jinja templates for whole pages: the theme, a project's overrides, one typed context."""

from __future__ import annotations

import functools
from pathlib import Path

import jinja2

from topicgen.errors import TopicgenError


def theme_dir() -> Path:
    """The default theme: shipped in the wheel as topicgen/theme, or templates/ in a checkout."""
    packaged = Path(__file__).resolve().parent.parent / "theme"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "templates"


@functools.lru_cache(maxsize=8)
def make_environment(project: Path) -> jinja2.Environment:
    """Templates are looked up in the project's templates/ first, so any can be overridden."""
    loader = jinja2.ChoiceLoader([
        jinja2.FileSystemLoader(project / "templates"),
        jinja2.FileSystemLoader(theme_dir()),
    ])
    return jinja2.Environment(loader=loader, autoescape=jinja2.select_autoescape(["html"]),
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


def render_page(project: Path, template: str, context: object) -> str:
    """Render `template` with `context` (a dataclass) as `page`; errors name template:line."""
    env = make_environment(project)
    try:
        return env.get_template(template).render(page=context)
    except jinja2.TemplateSyntaxError as error:
        raise TopicgenError(f"template {error.name or template}:{error.lineno}: "
                            f"{error.message}") from None
    except jinja2.TemplateNotFound as error:
        raise TopicgenError(f'template "{error.name}" not found in {project / "templates"} '
                            f"or the default theme") from None
    except jinja2.UndefinedError as error:
        raise TopicgenError(f"template {template}: {error.message}") from None
