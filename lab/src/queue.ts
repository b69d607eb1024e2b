/**
 * One experiment of a page computes at a time: on 2 cores, runs that start together all finish
 * late, and the one the learner looks at should finish first. The others wait their turn; an
 * experiment scrolled into view goes before the waiting ones (and before a running one that is
 * out of view), and Run starts one at once, holding the running one until it ends.
 */

/** What the queue needs of an experiment panel. */
export interface QueuedRun {
  readonly element: HTMLElement;
  readonly title: string;
  /** It is this run's turn: start it, or resume it where it was held. */
  go(): void;
  /** Pause the run at its next step so another can compute; false where it cannot be held (a quick computation). */
  hold(): boolean;
  /** Show that this run waits for `running`. */
  wait(running: QueuedRun): void;
}

/** How long an experiment must stay in view before it takes the cores (scrolling past does not). */
const SETTLE_MS = 400;

export class RunQueue {
  private active: QueuedRun | undefined;
  private waiting: QueuedRun[] = [];
  private readonly visible = new Set<Element>();
  private readonly observer: IntersectionObserver | undefined;
  private settle: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    if (typeof IntersectionObserver === "undefined") return;
    this.observer = new IntersectionObserver(
      (entries) => {
        for (const e of entries) {
          if (e.isIntersecting) this.visible.add(e.target);
          else this.visible.delete(e.target);
        }
        clearTimeout(this.settle);
        this.settle = setTimeout(() => this.inView(), SETTLE_MS);
      },
      { threshold: 0.2 },
    );
  }

  /** Run when the cores are free (the page's experiments on load). */
  add(run: QueuedRun): void {
    this.observer?.observe(run.element);
    if (this.active === run) return;
    this.drop(run);
    if (!this.active) {
      this.start(run);
      return;
    }
    this.waiting.push(run);
    run.wait(this.active);
  }

  /** Run now (the learner asked): the running experiment is held and continues afterwards. */
  now(run: QueuedRun): void {
    this.observer?.observe(run.element);
    this.drop(run);
    const other = this.active;
    if (other && other !== run) {
      if (!other.hold()) {
        // A quick computation cannot be held: this run goes next.
        this.waiting.unshift(run);
        run.wait(other);
        return;
      }
      this.waiting.unshift(other);
    }
    this.start(run);
  }

  /** The run ended, or was paused or stopped by the learner: the next one computes. */
  release(run: QueuedRun): void {
    this.drop(run);
    if (this.active !== run) return;
    this.active = undefined;
    this.next();
  }

  dispose(): void {
    clearTimeout(this.settle);
    this.observer?.disconnect();
    this.waiting = [];
    this.active = undefined;
  }

  private start(run: QueuedRun): void {
    this.active = run;
    for (const r of this.waiting) r.wait(run);
    run.go();
  }

  private next(): void {
    if (this.active) return;
    const run = this.waiting.find((r) => this.visible.has(r.element)) ?? this.waiting[0];
    if (!run) return;
    this.drop(run);
    this.start(run);
  }

  /** A waiting experiment in view goes before a running one out of view. */
  private inView(): void {
    const shown = this.waiting.find((r) => this.visible.has(r.element));
    if (!shown) return;
    const running = this.active;
    if (!running) {
      this.next();
      return;
    }
    if (this.visible.has(running.element) || !running.hold()) return;
    this.drop(shown);
    this.waiting.unshift(running);
    this.start(shown);
  }

  private drop(run: QueuedRun): void {
    this.waiting = this.waiting.filter((r) => r !== run);
  }
}
