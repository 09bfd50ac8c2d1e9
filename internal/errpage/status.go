package errpage

// StatusText returns the reason phrase for an HTTP status code, or "" if the
// code is not registered, as net/http's StatusText does. The phrases are
// those of RFC 9110 §15 where it defines the code, so a few differ from
// net/http's older wording: 413 is "Content Too Large" (not "Request Entity
// Too Large"), 414 "URI Too Long", 416 "Range Not Satisfiable" and 422
// "Unprocessable Content". Codes from other RFCs keep their registered names.
//
// A reason phrase is informational only (RFC 9112 §4): clients must act on the
// code, so any of these is safe on the wire.
func StatusText(code int) string {
	switch code {
	// 1xx Informational, RFC 9110 §15.2.
	case 100:
		return "Continue"
	case 101:
		return "Switching Protocols"
	case 102:
		return "Processing" // RFC 2518 §10.1
	case 103:
		return "Early Hints" // RFC 8297

	// 2xx Successful, RFC 9110 §15.3.
	case 200:
		return "OK"
	case 201:
		return "Created"
	case 202:
		return "Accepted"
	case 203:
		return "Non-Authoritative Information"
	case 204:
		return "No Content"
	case 205:
		return "Reset Content"
	case 206:
		return "Partial Content"
	case 207:
		return "Multi-Status" // RFC 4918 §11.1
	case 208:
		return "Already Reported" // RFC 5842 §7.1
	case 226:
		return "IM Used" // RFC 3229 §10.4.1

	// 3xx Redirection, RFC 9110 §15.4. 306 is reserved (§15.4.7).
	case 300:
		return "Multiple Choices"
	case 301:
		return "Moved Permanently"
	case 302:
		return "Found"
	case 303:
		return "See Other"
	case 304:
		return "Not Modified"
	case 305:
		return "Use Proxy"
	case 307:
		return "Temporary Redirect"
	case 308:
		return "Permanent Redirect"

	// 4xx Client Error, RFC 9110 §15.5.
	case 400:
		return "Bad Request"
	case 401:
		return "Unauthorized"
	case 402:
		return "Payment Required"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 406:
		return "Not Acceptable"
	case 407:
		return "Proxy Authentication Required"
	case 408:
		return "Request Timeout"
	case 409:
		return "Conflict"
	case 410:
		return "Gone"
	case 411:
		return "Length Required"
	case 412:
		return "Precondition Failed"
	case 413:
		return "Content Too Large"
	case 414:
		return "URI Too Long"
	case 415:
		return "Unsupported Media Type"
	case 416:
		return "Range Not Satisfiable"
	case 417:
		return "Expectation Failed"
	case 418:
		return "I'm a teapot" // §15.5.19 reserves it; net/http still names it
	case 421:
		return "Misdirected Request"
	case 422:
		return "Unprocessable Content"
	case 423:
		return "Locked" // RFC 4918 §11.3
	case 424:
		return "Failed Dependency" // RFC 4918 §11.4
	case 425:
		return "Too Early" // RFC 8470 §5.2
	case 426:
		return "Upgrade Required"
	case 428:
		return "Precondition Required" // RFC 6585 §3
	case 429:
		return "Too Many Requests" // RFC 6585 §4
	case 431:
		return "Request Header Fields Too Large" // RFC 6585 §5
	case 451:
		return "Unavailable For Legal Reasons" // RFC 7725 §3

	// 5xx Server Error, RFC 9110 §15.6.
	case 500:
		return "Internal Server Error"
	case 501:
		return "Not Implemented"
	case 502:
		return "Bad Gateway"
	case 503:
		return "Service Unavailable"
	case 504:
		return "Gateway Timeout"
	case 505:
		return "HTTP Version Not Supported"
	case 506:
		return "Variant Also Negotiates" // RFC 2295 §8.1
	case 507:
		return "Insufficient Storage" // RFC 4918 §11.5
	case 508:
		return "Loop Detected" // RFC 5842 §7.2
	case 510:
		return "Not Extended" // RFC 2774 §7
	case 511:
		return "Network Authentication Required" // RFC 6585 §6
	}
	return ""
}

// classText names the class of a status code (RFC 9110 §15: the first digit
// defines the class), for codes without a registered reason phrase.
func classText(code int) string {
	switch code / 100 {
	case 1:
		return "Informational"
	case 2:
		return "Successful"
	case 3:
		return "Redirection"
	case 4:
		return "Client Error"
	case 5:
		return "Server Error"
	}
	return "Unknown Status"
}

// explanation is the one sentence a built-in page says about a status.
func explanation(code int) string {
	switch code {
	case 400:
		return "The server could not understand the request."
	case 401:
		return "This resource requires authentication."
	case 402:
		return "Payment is required to access this resource."
	case 403:
		return "You do not have permission to access this resource."
	case 404:
		return "The requested resource could not be found on this server."
	case 405:
		return "The request method is not allowed for this resource."
	case 406:
		return "None of the available representations is acceptable to the client."
	case 407:
		return "Authentication with the proxy is required."
	case 408:
		return "The server timed out waiting for the request."
	case 409:
		return "The request conflicts with the current state of the resource."
	case 410:
		return "This resource is no longer available and will not return."
	case 411:
		return "The request must include a Content-Length header."
	case 412:
		return "A precondition in the request headers was not met."
	case 413:
		return "The request content is larger than the server will accept."
	case 414:
		return "The request URI is longer than the server will accept."
	case 415:
		return "The request content is in a format the server does not support."
	case 416:
		return "The requested range cannot be satisfied for this resource."
	case 417:
		return "The server cannot meet the expectation in the Expect header."
	case 418:
		return "The server refuses to brew coffee because it is a teapot."
	case 421:
		return "This server is not configured to answer requests for this host."
	case 422:
		return "The server understood the request but could not process its content."
	case 423:
		return "The resource is locked."
	case 424:
		return "The request failed because a request it depends on failed."
	case 425:
		return "The server will not process a request that might be replayed."
	case 426:
		return "The client must switch to a different protocol."
	case 428:
		return "The request must be conditional."
	case 429:
		return "Too many requests have been sent; try again later."
	case 431:
		return "The request header fields are larger than the server will accept."
	case 451:
		return "This resource is unavailable for legal reasons."
	case 500:
		return "The server encountered an internal error and could not complete the request."
	case 501:
		return "The server does not support the functionality needed to complete the request."
	case 502:
		return "The server received an invalid response from an upstream server."
	case 503:
		return "The server is temporarily unable to handle the request; try again later."
	case 504:
		return "The server did not receive a timely response from an upstream server."
	case 505:
		return "The server does not support the HTTP version used in the request."
	case 506:
		return "The server has an internal configuration error."
	case 507:
		return "The server cannot store what is needed to complete the request."
	case 508:
		return "The server detected an infinite loop while processing the request."
	case 510:
		return "The request needs further extensions to be fulfilled."
	case 511:
		return "Network authentication is required to gain access."
	}
	switch code / 100 {
	case 4:
		return "The server cannot process the request."
	case 5:
		return "The server could not complete the request."
	}
	return "The server answered with this status."
}
