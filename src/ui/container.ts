/**
 * Helpers over a flow's `ui` container (Kratos `ui/container`): build, add messages form-wide or to a node by name,
 * reset messages, upsert nodes, and fold traits validation errors in. They mutate the container they are given and
 * return it, so flows can chain on the object they persist.
 */
import type { UiText } from "./messages.ts";
import { csrfNode, inputNode } from "./node.ts";
import type { UiContainer, UiNode, UiNodeGroup } from "./node.ts";

/** A new POST container with no nodes. */
export function newContainer(action: string, nodes: UiNode[] = []): UiContainer {
  return { action, method: "POST", nodes };
}

/** The name of an input node, or the id of any other node (Kratos `node.ID()`). */
export function nodeId(n: UiNode): string {
  const a = n.attributes;
  return a.node_type === "input" ? a.name : a.id;
}

export function findNode(c: UiContainer, name: string): UiNode | undefined {
  return c.nodes.find((n) => nodeId(n) === name);
}

/** Replaces the node with the same name/id (and group, for inputs named "method") or appends it. */
export function upsertNode(c: UiContainer, node: UiNode): UiContainer {
  const id = nodeId(node);
  const i = c.nodes.findIndex((n) => nodeId(n) === id && (id !== "method" || n.group === node.group));
  if (i >= 0) c.nodes[i] = node;
  else c.nodes.push(node);
  return c;
}

export function removeNode(c: UiContainer, name: string): UiContainer {
  c.nodes = c.nodes.filter((n) => nodeId(n) !== name);
  return c;
}

/** Sets (or adds) the CSRF node. */
export function setCsrf(c: UiContainer, token: string): UiContainer {
  return upsertNode(c, csrfNode(token));
}

/**
 * Adds a message form-wide (no `names`, or only empty names) or to each named node. A name without a node gets a new
 * text input in the default group carrying the message, as Kratos's `AddMessage` does, so the error is never lost.
 */
export function addMessage(c: UiContainer, message: UiText, ...names: string[]): UiContainer {
  const targets = names.filter((n) => n.trim() !== "");
  if (targets.length === 0) {
    c.messages = [...(c.messages ?? []), message];
    return c;
  }
  for (const name of targets) {
    const n = findNode(c, name);
    if (n) n.messages.push(message);
    else c.nodes.push({ ...inputNode({ group: "default", name, type: "text" }), messages: [message] });
  }
  return c;
}

/** Replaces the messages of the named node (creating it as `addMessage` does). */
export function setNodeMessages(c: UiContainer, name: string, messages: UiText[]): UiContainer {
  const n = findNode(c, name);
  if (n) n.messages = [...messages];
  else for (const m of messages) addMessage(c, m, name);
  return c;
}

/** Clears form-wide messages and every node's messages, except nodes named in `exclude`. */
export function resetMessages(c: UiContainer, ...exclude: string[]): UiContainer {
  delete c.messages;
  for (const n of c.nodes) if (!exclude.includes(nodeId(n))) n.messages = [];
  return c;
}

/** Sets the value of a named input node, if present. */
export function setNodeValue(c: UiContainer, name: string, value: unknown): UiContainer {
  const n = findNode(c, name);
  if (n && n.attributes.node_type === "input") n.attributes.value = value;
  return c;
}

/** Clears input values (except hidden inputs such as csrf_token and the `method` buttons, and names in `exclude`). */
export function resetValues(c: UiContainer, ...exclude: string[]): UiContainer {
  for (const n of c.nodes) {
    const a = n.attributes;
    if (a.node_type !== "input" || a.type === "hidden" || a.type === "submit" || exclude.includes(a.name)) continue;
    delete a.value;
  }
  return c;
}

/** Folds traits validation errors (from the identity schema registry) into node messages; "" names go form-wide. */
export function addValidationErrors(c: UiContainer, errs: Array<{ name: string; message: UiText }>): UiContainer {
  for (const e of errs) addMessage(c, e.message, e.name);
  return c;
}

/** Nodes of a group, e.g. to move traits between groups. */
export function nodesOfGroup(c: UiContainer, group: UiNodeGroup): UiNode[] {
  return c.nodes.filter((n) => n.group === group);
}
