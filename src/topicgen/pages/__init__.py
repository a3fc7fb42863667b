"""Jinja templates for whole pages: the theme, a project's overrides, one typed context."""

from __future__ import annotations

import functools
from pathlib import Path

import jinja2
from jinja2.sandbox import SandboxedEnvironment

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
    (`project` None: the default theme alone).

    Sandboxed because an override arrives with the content, in a pull request like a chapter.
    """
    folders = [theme_dir()] if project is None else [project / "templates", theme_dir()]
    loader = jinja2.ChoiceLoader([TemplateLoader(folder) for folder in folders])
    return SandboxedEnvironment(loader=loader, autoescape=jinja2.select_autoescape(["html"]),
                                undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


def render_page(project: Path, template: str, context: object) -> str:
    """Render `template` with `context` (a dataclass) as `page`; errors name file:line."""
    return render_template(project, template, page=context)


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
