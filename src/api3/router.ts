/**
 * Routing a call to (service, version, action): the product the Host's first label names, else the TC3 scope's
 * service, else the one product that has the version and action.
 */
import type { ActionDefinition } from "../call/action";
import { ApiError } from "./errors";
import type { Caller } from "./authenticate";

/** What a region's name looks like (ap-guangzhou, na-siliconvalley, ap-shanghai-fsi-1): anything else is no region. */
export const REGION_NAME = /^[a-z]{2}-[a-z]+(?:-[a-z]+)*(?:-\d+)?$/;

export interface Product {
  service: string;
  versions: ReadonlyMap<string, ReadonlyMap<string, ActionDefinition>>;
}

export interface Route {
  service: string;
  version: string;
  action: ActionDefinition;
}

export class Router {
  private readonly products = new Map<string, Product>();
  /** what test keys are served instead, by service (the test kit: fixtures only, the test ledger) */
  private readonly forTestKeys = new Map<string, Product>();

  register(product: Product, forTestKeys?: Product): this {
    this.products.set(product.service, product);
    if (forTestKeys) this.forTestKeys.set(product.service, forTestKeys);
    return this;
  }

  /** every action name served, in any product and version (the closed set metrics label by) */
  actionNames(): Set<string> {
    return new Set(this.actions().keys());
  }

  /** every action served, by name (the newest version's where versions share a name) */
  actions(): Map<string, ActionDefinition> {
    const all = new Map<string, ActionDefinition>();
    for (const product of this.products.values()) {
      for (const actions of product.versions.values()) for (const [name, action] of actions) all.set(name, action);
    }
    return all;
  }

  resolve(host: string, caller: Caller, version: string, action: string): Route {
    const found = this.findProduct(host, caller, version, action);
    const product = (caller.test && this.forTestKeys.get(found.service)) || found;
    const actions = product.versions.get(version);
    if (!actions) throw new ApiError("NoSuchVersion");
    const definition = actions.get(action);
    if (!definition) throw new ApiError("InvalidAction");
    return { service: product.service, version, action: definition };
  }

  private findProduct(host: string, caller: Caller, version: string, action: string): Product {
    const hostLabel = host.toLowerCase().replace(/:\d+$/, "").split(".")[0] ?? "";
    const byHost = this.products.get(hostLabel);
    if (byHost) return byHost;
    // Never reject because the scope differs from the routed product: the Node SDK derives it from the endpoint.
    const byScope = caller.scopeService ? this.products.get(caller.scopeService) : undefined;
    if (byScope) return byScope;
    for (const product of this.products.values()) {
      if (product.versions.get(version)?.has(action)) return product;
    }
    throw new ApiError("NoSuchProduct");
  }
}
