/**
 * Storage lifetime. A TensorStorage wraps one backend buffer and is shared by all views of it.
 * - Garbage collection: a FinalizationRegistry frees the buffer when no tensor references it.
 * - Scopes: storage created while a scope is open belongs to it; closing the scope frees it unless
 *   it was kept (returned from `tidy`, passed to `keep`, or adopted as some tensor's `.grad`).
 *   A scope holds its storages strongly, so garbage collection could not free them anyway: they
 *   join the registry only when they leave every scope (registering cost about a tenth of a
 *   small training step's front-end time, and most temporaries never leave their scope).
 */
import type { Backend, DType, Storage } from "../backend/index.js";

const registry = new FinalizationRegistry<{ backend: Backend; handle: Storage }>(({ backend, handle }) => {
  backend.free(handle);
});

export class Scope {
  readonly storages = new Set<TensorStorage>();
  constructor(readonly parent: Scope | null) {}
}

let currentScope: Scope | null = null;

export function activeScope(): Scope | null {
  return currentScope;
}

export function setActiveScope(scope: Scope | null): void {
  currentScope = scope;
}

export class TensorStorage {
  private handleOrNull: Storage | null;
  /** The scope that will free this storage, or null when only garbage collection will. */
  scope: Scope | null = null;
  /** Bumped by every in-place write, so autograd can tell saved values were overwritten. */
  version = 0;

  constructor(
    readonly backend: Backend,
    handle: Storage,
  ) {
    this.handleOrNull = handle;
    if (currentScope) {
      this.scope = currentScope;
      currentScope.storages.add(this);
    } else {
      this.watch();
    }
  }

  private watched = false;

  /** Let garbage collection free the buffer once nothing references this storage. */
  private watch(): void {
    if (this.watched || this.handleOrNull === null) return;
    this.watched = true;
    registry.register(this, { backend: this.backend, handle: this.handleOrNull }, this);
  }

  static alloc(backend: Backend, dtype: DType, size: number): TensorStorage {
    return new TensorStorage(backend, backend.alloc(dtype, size));
  }

  get handle(): Storage {
    if (this.handleOrNull === null) {
      throw new Error(
        "this tensor's storage was freed (by the end of a tidy() scope or dispose()); return the tensor from the tidy function, call keep(t) on it, or update long-lived tensors in place with assign()",
      );
    }
    return this.handleOrNull;
  }

  get dtype(): DType {
    return this.handle.dtype;
  }

  get size(): number {
    return this.handle.size;
  }

  get freed(): boolean {
    return this.handleOrNull === null;
  }

  /** Move to another scope (null: garbage collection only). */
  moveTo(scope: Scope | null): void {
    if (this.scope === scope) return;
    this.scope?.storages.delete(this);
    this.scope = scope;
    if (scope) scope.storages.add(this);
    else this.watch();
  }

  free(): void {
    if (this.handleOrNull === null) return;
    if (this.watched) registry.unregister(this);
    this.backend.free(this.handleOrNull);
    this.handleOrNull = null;
    this.scope?.storages.delete(this);
    this.scope = null;
  }
}
