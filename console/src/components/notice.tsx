/** What went wrong (announced at once) and what was done (announced politely). */
export function ErrorNotice(props: { message: string | undefined }) {
  return props.message ? (
    <p class="notice error" role="alert">
      {props.message}
    </p>
  ) : null;
}

export function DoneNotice(props: { message: string | undefined }) {
  return props.message ? (
    <p class="notice done" role="status">
      {props.message}
    </p>
  ) : null;
}
