/** A link inside the console: a real <a href> (it opens in a new tab, screen readers call it a link), routed here on a plain click. */
import type { ComponentChildren } from "preact";
import { href, navigate } from "../router";

export function Link(props: { to: string; children: ComponentChildren; current?: boolean; label?: string }) {
  return (
    <a
      href={href(props.to)}
      aria-current={props.current ? "page" : undefined}
      aria-label={props.label}
      onClick={(event) => {
        if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
        event.preventDefault();
        navigate(props.to);
      }}
    >
      {props.children}
    </a>
  );
}
