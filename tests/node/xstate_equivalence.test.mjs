// Replays the event sequences orderfsm's tests generate (hypothesis, plus a transition
// cover) through the exported XState v5 machines, and requires the same accepted events,
// target statuses, variables and remembered statuses as orderfsm's pure core.
// The fixtures are written by tests/test_export_xstate.py, which runs this file with
// ORDERFSM_FIXTURES set to its temporary folder.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { assign, createActor, setup } from "xstate";

const dir = process.env.ORDERFSM_FIXTURES;
if (!dir) {
  throw new Error("ORDERFSM_FIXTURES is not set: run this through tests/test_export_xstate.py");
}
const read = (name) => JSON.parse(readFileSync(join(dir, name), "utf8"));

for (const name of read("machines.json")) {
  test(`${name}: XState replays every sequence like orderfsm`, async () => {
    const guards = await import(pathToFileURL(join(dir, `${name}.guards.mjs`)).href);
    const machine = setup(guards.implementations(assign)).createMachine(
      read(`${name}.xstate.json`),
    );
    const cases = read(`${name}.cases.json`);
    assert.ok(cases.length > 0, "no cases");
    cases.forEach((c, i) => {
      const { status, variables, history } = c.start;
      const snapshot = machine.resolveState({ value: status, context: { variables, history } });
      const actor = createActor(machine, { snapshot }).start();
      c.steps.forEach((step, j) => {
        const where = `${name} case ${i} step ${j}: ${step.event} (parent ${step.parent})`;
        const before = actor.getSnapshot();
        const event = { type: step.event, parent: step.parent };
        const accepted = before.status === "active" && before.can(event);
        assert.equal(accepted, step.accepted, `${where}: accepted`);
        if (accepted) actor.send(event);
        const after = actor.getSnapshot();
        assert.deepEqual(
          { status: after.value, variables: after.context.variables, history: after.context.history },
          step.after,
          `${where}: state after`,
        );
      });
      actor.stop();
    });
  });
}
