"""Who may answer an approval: the role it names (`--as ROLE`), and, with a roles.yaml, only the
people listed under that role. An answer refused records nothing."""

import pytest

from agentctl.errors import UsageError
from agentctl.record.roles import check_answer


def test_the_wrong_role_is_refused_and_the_right_one_accepted(tmp_path):
    with pytest.raises(UsageError) as refused:
        check_answer(tmp_path, "manager", "director", "sign_off", "alice")
    assert refused.value.message == "step 'sign_off' waits for approval by director; you answer as manager"
    check_answer(tmp_path, "director", "director", "sign_off", "alice")  # no roles.yaml: --as is taken as given
    check_answer(tmp_path, "manager", "human", "confirm", "alice")  # a human approval: anyone


def test_roles_yaml_lists_who_may_answer_as_a_role(tmp_path):
    (tmp_path / "roles.yaml").write_text("roles:\n  director: [carol]\n  manager: [alice, bob]\n")
    check_answer(tmp_path, "director", "director", "sign_off", "carol")
    with pytest.raises(UsageError) as refused:
        check_answer(tmp_path, "director", "director", "sign_off", "alice")
    assert refused.value.message == "user 'alice' may not answer as director (roles.yaml lists: carol)"
    with pytest.raises(UsageError) as unknown:
        check_answer(tmp_path, "cfo", "cfo", "sign_off", "carol")
    assert "role 'cfo' is not in roles.yaml" in unknown.value.message
