/** `herograd/io`: src/io with the CPU backends registered and the default chosen (src/backend/select.ts). */
import "../backend/select.js";

export * from "../io/index.js";
