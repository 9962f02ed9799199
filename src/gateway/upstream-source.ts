/**
 * Whether the installation is a gateway, and its upstream client: the settings read from the store at most once a
 * second, so `sanyao upstream set` turns gateway mode on (or `clear` off) for a running server within a second.
 */
import type { Keyring } from "../common/keyring";
import type { MetaRows } from "../store/ports";
import { UpstreamClient } from "./upstream-client";
import { loadUpstream, type UpstreamSettings } from "./upstream-settings";

const FRESH_MS = 1000;

export class UpstreamSource {
  private client: UpstreamClient | undefined;
  private settingsKey = "";
  private readAt = -Infinity;
  private reading: Promise<UpstreamClient | undefined> | undefined;

  constructor(
    private readonly meta: MetaRows,
    private readonly keyring: Keyring,
    /** SANYAO_UPSTREAM_URL: the URL in force, whatever `upstream set --url` stored */
    private readonly urlOverride: string | undefined,
    private readonly clock: () => number,
  ) {}

  /** the upstream client, or undefined when no upstream is set (the installation answers from its own records) */
  current(): UpstreamClient | undefined | Promise<UpstreamClient | undefined> {
    if (Date.now() - this.readAt < FRESH_MS) return this.client;
    this.reading ??= this.read().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  private async read(): Promise<UpstreamClient | undefined> {
    const settings = await loadUpstream(this.meta, this.keyring);
    this.readAt = Date.now();
    const effective: UpstreamSettings | undefined = settings && { ...settings, url: this.urlOverride ?? settings.url };
    const key = effective ? JSON.stringify(effective) : "";
    if (key !== this.settingsKey) {
      this.client?.retire();
      this.client = effective && new UpstreamClient(effective, this.clock);
      this.settingsKey = key;
    }
    return this.client;
  }

  close(): void {
    this.client?.close();
  }
}
