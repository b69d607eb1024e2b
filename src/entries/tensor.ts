/** `herograd/tensor`: src/tensor with the CPU backends registered and the default chosen (src/backend/select.ts). */
import "../backend/select.js";

export * from "../tensor/index.js";
