"""Human-activity recognition core: pure functions the ZenML steps call (no ZenML imports).

`har.use_project()` (from `har.project`, which imports ZenML only when called)
lets code outside the checkout use the project's ZenML stack and artifacts.
"""

from har.project import ProjectNotFoundError, project_root, use_project

__all__ = ["ProjectNotFoundError", "project_root", "use_project"]
