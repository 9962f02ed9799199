/**
 * What an action adds to its call's audit row and log line, already masked: the protocol layer passes it through
 * without reading it, and storage keeps it as it came.
 */
export interface AuditDetail {
  /** the subject of the call, masked (a phone number as 138****1234); never a raw value */
  subject?: string;
  /** the priced variant of the action (PhoneVerification's VerifyMode), for the usage report and metrics */
  variant?: string;
}
