"""The consent sync types under 10% of Dataverse and Dotdigital answers going wrong (429 with
the come-back header, 500, 503, dropped connections, lost responses after being applied): every
run ends with the rows and list of an undisturbed run and an honest audit (Completed: the same
counts and messages as the undisturbed run; otherwise a status that is not Completed)."""

from __future__ import annotations

import pytest

from sandbox.launch import Sandboxes
from shared.audit import AuditStatus
from shared.azurite import AzuriteProcess
from shared.pipeline import admin
from tests.chaos.conftest import SIZE
from tests.chaos.consent import (
    CASE_IDS,
    CASES,
    ConsentCase,
    build_consent_world,
    capture_consent,
    reference_for,
)
from tests.chaos.harness import Broker
from tests.chaos.report import ChaosReport
from tests.chaos.test_faults import FAULT_NAMES, inject

PAGE_SIZE = 15  # 20 pages of ~3 requests: ~6 of a run's answers go wrong


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@pytest.mark.parametrize("seed", range(1, SIZE.fault_runs + 1))
def test_consent_runs_under_faults_end_with_correct_data_and_honest_audits(
    seed: int,
    case: ConsentCase,
    azurite: AzuriteProcess,
    sandboxes: Sandboxes,
    chaos_report: ChaosReport,
) -> None:
    expected = reference_for(case, azurite, sandboxes).state
    world = build_consent_world(azurite, sandboxes, case, page_size=PAGE_SIZE)
    inject(sandboxes.dataverse.faults, seed)
    inject(sandboxes.dotdigital.faults, seed + 1000)
    admin.sync_now(world.runtime(), world.account_id, case.sync_type)

    log = Broker(world, sync_type=case.sync_type).run_to_the_end()

    injected = sandboxes.dataverse.faults.injected + sandboxes.dotdigital.faults.injected
    sandboxes.dataverse.faults.reset()
    sandboxes.dotdigital.faults.reset()
    got = capture_consent(world)
    _, status, counts, message = got.audit[0]  # the newest: this run
    complete = got.dataverse == expected.dataverse and got.members == expected.members
    honest = (
        got.audit == expected.audit and got.details == expected.details
        if status == AuditStatus.COMPLETED.value
        else True  # a run that says it did not complete may have data to finish next time
    )
    for kind, count in injected.items():
        chaos_report.tally("consent faults", FAULT_NAMES.get(kind, f"HTTP {kind}"), count)
    chaos_report.tally("consent faults", f"{case.name} runs {status}")
    chaos_report.record(
        "consent faults",
        complete and honest,
        f"{case.name} seed {seed}: {status}, {'complete' if complete else 'data differs'}, "
        f"{log.deliveries} deliveries, faults {dict(injected)}; counts {counts}, expected "
        f"{expected.audit[0][2]}; {message[:200]}",
    )
    assert sum(injected.values()) > 0, "no fault was injected"
    assert honest, "\n".join(expected.differences(got))
    assert complete, f"{status}: {message}\n" + "\n".join(expected.differences(got))
