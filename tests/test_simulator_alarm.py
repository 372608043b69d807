"""The simulator's CloudWatch alarm (deepgram_scaling.simulator.policies.Alarm): M of N
datapoints, and the missing-data treatments a template's TreatMissingData names."""

from __future__ import annotations

from deepgram_scaling.simulator.policies import Alarm


def _states(alarm: Alarm, datapoints: list[bool | None]) -> list[bool]:
    return [alarm.add(point) for point in datapoints]


def test_m_of_n_fires_on_m_breaching_datapoints_anywhere_in_the_last_n():
    # Given an alarm on 2 breaching datapoints out of 3
    alarm = Alarm(evaluation=3, datapoints=2)
    # When breaching and healthy datapoints alternate
    # Then it fires once two of the last three breach, and clears when one of three does
    assert _states(alarm, [True, False, True, False, False, True, True]) == \
        [False, False, True, False, False, False, True]


def test_n_of_n_needs_a_run_of_breaching_datapoints():
    # Given an alarm on 3 of 3
    alarm = Alarm(evaluation=3, datapoints=3)
    # Then a healthy datapoint restarts the count
    assert _states(alarm, [True, True, False, True, True, True]) == \
        [False, False, False, False, False, True]


def test_missing_data_breaches_clears_or_holds_the_state_as_treated():
    # Given one alarm per treatment, on 1 of 1, already in ALARM
    treatments = ("breaching", "notBreaching", "missing", "ignore")
    alarms = {name: Alarm(evaluation=1, datapoints=1, treat_missing=name) for name in treatments}
    for alarm in alarms.values():
        assert alarm.add(True)
    # When a datapoint is missing
    # Then "breaching" stays in ALARM, "notBreaching" clears, and the others hold the state
    assert {name: alarm.add(None) for name, alarm in alarms.items()} == {
        "breaching": True, "notBreaching": False, "missing": True, "ignore": True}
    # And from OK, a missing datapoint counts as breaching only when treated so (2 of 3)
    windowed = Alarm(evaluation=3, datapoints=2, treat_missing="breaching")
    assert _states(windowed, [None, None]) == [False, True]
    quiet = Alarm(evaluation=3, datapoints=2, treat_missing="notBreaching")
    assert _states(quiet, [True, None, None, True]) == [False, False, False, False]
