"""The README's Python examples run, in order, and say what they claim."""

import re
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parents[1] / "README.md"
# The KA example loads the user's own table file, which a clone does not have.
NEEDS_USER_FILE = "pool_order.toml"


def test_readme_examples_run_and_show_what_they_say() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 4
    scope: dict[str, object] = {}
    exec(compile(blocks[0], str(README), "exec"), scope)  # the embedding example
    taobao = scope["order"]
    assert taobao.refund_status("1002").name == "APPLIED_REFUND"  # type: ignore[attr-defined]
    assert taobao.refund_status("1001").name == "NOT_APPLY_FOR_REFUND"  # type: ignore[attr-defined]
    assert not taobao.can("cancel")  # type: ignore[attr-defined]
    why: Any = scope["why"]
    assert (why.accepted, why.actors, why.alternatives) == (False, ("buyer",), ())
    assert why.refusal == "PaymentLocked"
    assert taobao.status == 10  # type: ignore[attr-defined]
    for block in blocks[1:]:
        if NEEDS_USER_FILE not in block:
            exec(compile(block, str(README), "exec"), scope)
    order = scope["order"]
    assert order.customer_text == "wait buyer to pay: advance payment not paid"  # type: ignore[attr-defined]
    step = scope["step"]
    assert step.target.code == 2  # type: ignore[attr-defined]
    m: Any = scope["m"]
    assert m.has_edge(5, "CANCEL") and not m.allows(5, "cancel")
    assert m.enabled(5) == ("payment_complete", "platform_close")
    assert "WAIT_BUYER_P" in m and len(m) == 10
    restored: Any = scope["restored"]
    assert restored.to_dict() == taobao.to_dict()  # type: ignore[attr-defined]
    assert taobao.refund_status("1001") == 0 and scope["draft"].refund_status("1001") == 10  # type: ignore[attr-defined]
    assert scope["ours"].table.title == "Alibaba.com trade_status, our edition"  # type: ignore[attr-defined]
