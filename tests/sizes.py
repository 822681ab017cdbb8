"""Small run sizes shared by the sweep and sensitivity tests (pytest puts this folder on the
import path): a few thousand users over eight months keep a grid of runs quick."""

SIZE = {"run.users": 2000, "run.months": 8, "run.startups": 2000}
SIZE_ARGS = ["--users", "2000", "--months", "8", "--set", "run.startups=2000"]
