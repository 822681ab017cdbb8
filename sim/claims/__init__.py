"""The article's claims as checks: the claims file, the rules, the check and its screens.

* sim/claims/spec.py: reading ``seeds/claims.toml`` (claims, runs by role, verdicts);
* sim/claims/rules.py: how one replicate decides each claim, from table columns;
* sim/claims/check.py: every claim over paired, seeded replicates on the experiments engine;
* sim/claims/screen.py: a Morris screen per claim, and where a verdict flips;
* sim/claims/report.py: ``report.md`` of a check's folder.

    from sim.claims import check_claims
    result = check_claims(replicates=8, users=3000)
    result.scorecard
    from sim import folder
    folder.save(result, "results")          # results/claims/<run-id>/
"""

from sim.claims.check import ClaimsResult, check_claims
from sim.claims.spec import Claim, ClaimsSpec, Run, load_claims

__all__ = ["Claim", "ClaimsResult", "ClaimsSpec", "Run", "check_claims", "load_claims"]
