"""The workspace's models, one module per part: ``agreements`` (promises, disputes,
repayment plans, settlements, hand-over cases) and ``work`` (portfolios, tasks,
activities)."""

from incassa.workspace.models.agreements import *  # noqa: F403
from incassa.workspace.models.work import *  # noqa: F403
