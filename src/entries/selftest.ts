/** `herograd/selftest`: src/selftest with the CPU backends registered and the default chosen (src/backend/select.ts). */
import "../backend/select.js";

export * from "../selftest/index.js";
