"""The collector workspace: portfolios, tasks and activities, promises, disputes, repayment
plans, settlements and hand-over cases."""
