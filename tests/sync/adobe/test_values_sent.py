"""What Campaign receives for a mapped value: replacements (by value or by a choice's label),
and a choice as its technical value or its label."""

from __future__ import annotations

from shared.storage.adobe_config_model import Replacement
from shared.sync.adobe.picklists import FORMATTED, label_of, outgoing
from shared.sync.adobe.replacements import Replacements

RULES = Replacements(
    [
        Replacement(dynamics_field="gendercode", value="2", new_value="F"),
        Replacement(dynamics_field="preferredcontactmethodcode", value="Email", new_value="E"),
        Replacement(dynamics_field="donotbulkemail", value="true", new_value="1"),
        Replacement(dynamics_field="new_colour", value="green", new_value="#00FF00"),
    ]
)


def test_a_replacement_matches_the_value_or_the_choices_label_exactly() -> None:
    assert RULES.apply("gendercode", 2, "Female") == "F"  # by value
    assert RULES.apply("preferredcontactmethodcode", 2, "Email") == "E"  # by label
    assert RULES.apply("donotbulkemail", True) == "1"
    assert RULES.apply("new_colour", "green") == "#00FF00"
    assert RULES.apply("new_colour", "Green") == "Green"  # exact, as typed
    assert RULES.apply("gendercode", 1, "Male") == 1  # no rule: unchanged
    assert RULES.apply("new_colour", None) is None


def test_a_choice_goes_as_its_value_or_its_label() -> None:
    record = {"gendercode": 2, "gendercode" + FORMATTED: "Female", "jobtitle": "Engineer"}
    label = label_of(record, "gendercode")
    assert label == "Female" and label_of(record, "jobtitle") is None
    assert outgoing(2, label, technical=True) == 2
    assert outgoing(2, label, technical=False) == "Female"
    assert outgoing(2, None, technical=False) == 2  # no label read: the value, not a blank
    assert outgoing(None, None, technical=False) is None
