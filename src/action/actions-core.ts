import * as core from "@actions/core";
import type { ActionIO } from "./runner.js";

/** The runner protocol through @actions/core: workflow commands and the GITHUB_* files. */
export const actionsIO: ActionIO = {
  getInput: (name) => core.getInput(name),
  getState: (name) => core.getState(name),
  setSecret: (value) => core.setSecret(value),
  setOutput: (name, value) => core.setOutput(name, value),
  exportVariable: (name, value) => core.exportVariable(name, value),
  saveState: (name, value) => core.saveState(name, value),
  info: (message) => core.info(message),
  warning: (message) => core.warning(message),
  debug: (message) => core.debug(message),
  setFailed: (message) => core.setFailed(message),
  getIDToken: (audience) => core.getIDToken(audience),
  appendSummary: async (markdown) => {
    await core.summary.addRaw(markdown, true).write();
  },
};
