/** Lesson 10: Pong from pixels, and the policy gradient that learns to play it (pg-pong.py). */
export * from "./policy.js";
export * from "./pong.js";
export * from "./reinforce.js";
