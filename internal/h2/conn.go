package h2

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/stoahttp/stoa/internal/gather"
	"github.com/stoahttp/stoa/internal/header"
	"github.com/stoahttp/stoa/internal/idlepark"
)

const (
	readBufSize = 16 << 10
	// keepScratch is the most an idle connection keeps of a frame's
	// payload or a response head (see shed).
	keepScratch = 1 << 10
	// keepStreams is the most streams whose room an idle connection
	// keeps: a map of up to 8 entries is one group of slots.
	keepStreams = 8
	// Pending output is written once it holds this much, even while more
	// frames wait to be read.
	flushThreshold = 64 << 10
	// quantum is the most one stream sends before the others have a turn.
	quantum = 64 << 10
	// recentClosed is how many closed streams are remembered, to tell a
	// frame on one of them (STREAM_CLOSED) from one on a stream that never
	// was (PROTOCOL_ERROR).
	recentClosed = 64
	maxWindow    = 1<<31 - 1
	// maxRecord is the most plaintext of one TLS record.
	maxRecord = 16 << 10
	// crypto/tls starts a connection with records of one TCP segment
	// (about 1.2 KiB of plaintext, then growing), until it has sent
	// smallRecordsUntil bytes (its recordSizeBoostThreshold).
	minRecord         = 1 << 10
	smallRecordsUntil = 128 << 10
	// idleRead is the size of the read a TLS connection waits with while
	// idle (see read). The requests a client sends at once after its
	// last answers (HEADERS of a few dozen bytes each, their fields
	// indexed) fit in it: all are answered, and the answers flushed,
	// together. At 32 bytes, two of h2load's ten were, and flushed
	// before the others were read.
	idleRead = 256
)

var aLongTimeAgo = time.Unix(1, 0)

// errDone ends the connection once it has nothing left to do.
var errDone = errors.New("h2: connection done")

// connError is a connection error (RFC 9113 §5.4.1): GOAWAY, then close.
type connError http2.ErrCode

func (e connError) Error() string { return "h2: connection error " + http2.ErrCode(e).String() }

type conn struct {
	o  *Options
	nc net.Conn
	fr *http2.Framer
	// raw reads a TCP connection without a buffer while it waits (see
	// read); nil for other connections, TLS among them.
	raw     syscall.RawConn
	rawRead func(fd uintptr) bool // c.readRaw, made once
	rawN    int
	rawErr  error
	// gather, for a TLS connection over one (as the engine makes them),
	// sends the records of one write in one system call.
	gather *gather.Conn
	// flushed counts the bytes written, up to smallRecordsUntil.
	flushed int

	// rbuf and wbuf are empty whenever the connection waits for its
	// client, and are then given back to their pools (park); rb and wb
	// hold them while they are the connection's.
	rb   *[readBufSize]byte
	rbuf []byte
	r, w int
	// atFrame says the connection is about to read a frame header,
	// outside any call of the Framer's: nothing of the next frame has
	// been read yet.
	atFrame bool
	// bigFrame says a frame larger than keepScratch was read since the
	// connection was last idle.
	bigFrame bool
	// small takes the first bytes a connection without raw reads gets
	// after waiting idle, so that it waits without its read buffer.
	small [idleRead]byte

	wb   *writeBuf
	wbuf []byte
	hbuf []byte // header block scratch
	low  [64]byte
	// extra is Options.Extra, encoded once.
	extra []byte

	hdec *hpack.Decoder
	// hb gathers the header block being read. It is pooled too (it is
	// half the conn's size) and given back with the buffers when no
	// block is under way.
	hb    *block
	hbID  uint32 // stream of the header block being read, 0 = none
	hbEnd bool   // it carries END_STREAM
	hbDo  int    // what to do once it is decoded: do*
	// hbStart is when the header block being read began (unix ns): it
	// must end within ReadHeaderTimeout.
	hbStart int64

	streams map[uint32]*stream
	pending []*stream // streams with body bytes still to send, in order
	// peak is the most streams open at once since the connection was
	// last idle: past keepStreams, streams and pending grew (see shed).
	peak        int
	maxClientID uint32
	closed      [recentClosed]uint32
	closedN     int
	resets      map[uint32]struct{} // streams we reset: their frames are dropped

	// peer settings and our send window
	peerMaxFrame   int
	peerInitWindow int64
	sendWindow     int64
	// our receive window
	recvWindow int64
	recvUnack  int64

	goAwaySent bool
	peerGoAway bool
	fatal      bool // a GOAWAY with an error went out: close once written
	// responses completed, and cancelled by the client before the end
	completed, cancelled int
	producers            atomic.Int32 // producer goroutines running
	waiting              []*stream    // streams whose producers wait to start
	wake                 atomic.Bool

	readDeadline, writeDeadline int64
	// lastWork is when the connection last had work (unix ns): a request
	// opened, response bytes sent, a stream finished, request body bytes
	// received. worked says there was some since; fill stamps it, with the
	// time it reads anyway. The idle timeout counts from lastWork.
	lastWork int64
	worked   bool
	// uploading counts the streams whose body is read before they are
	// answered; each must arrive within ReadHeaderTimeout.
	uploading int
	// begun says serve sent the server's preface: Run resumes the
	// connection.
	begun bool
}

// What endBlock does with a decoded header block.
const (
	doNew      = iota // a new request
	doTrailers        // the end of an open stream's body
	doRefuse          // over the stream limit: REFUSED_STREAM
	doClosed          // a half-closed stream: STREAM_CLOSED
	doIgnore          // after our GOAWAY: dropped
	doMalformed
)

func newConn(nc net.Conn, pre []byte, o *Options) *conn {
	c := &conn{
		o:              o,
		nc:             nc,
		streams:        make(map[uint32]*stream),
		resets:         make(map[uint32]struct{}),
		peerMaxFrame:   16384,
		peerInitWindow: 65535,
		sendWindow:     65535,
		recvWindow:     initialWindow,
	}
	if tc, ok := nc.(*net.TCPConn); ok && canReadRaw {
		c.raw, _ = tc.SyscallConn()
		c.rawRead = c.readRaw
	}
	if tc, ok := nc.(*tls.Conn); ok {
		c.gather, _ = tc.NetConn().(*gather.Conn)
	}
	c.unpark()
	c.w = copy(c.rbuf, pre)
	c.extra = header.AppendHPACK(nil, o.Extra, &c.low)
	c.newFramer()
	c.hdec = hpack.NewDecoder(4096, func(f hpack.HeaderField) { c.hb.field(f) })
	c.hdec.SetMaxStringLength(o.MaxHeaderBytes)
	return c
}

// newFramer makes the connection's Framer, which reads frames from rbuf.
func (c *conn) newFramer() {
	c.fr = http2.NewFramer(io.Discard, (*reader)(c))
	c.fr.SetReuseFrames()
	// The protocol's initial 16 KiB, which stoa never raises: it is
	// sent nothing larger than header blocks and small bodies.
	c.fr.SetMaxReadFrameSize(16384)
}

// shed drops, when the connection waits idle between frames, what a large
// frame, a large response head or many streams at once left it: the Framer
// keeps a payload buffer the size of the largest frame it read, hbuf the
// largest head written, streams and pending the room of the most streams
// open. Small ones are kept, so that the next request allocates nothing.
func (c *conn) shed() {
	if !c.atFrame || c.hbID != 0 || len(c.streams) > 0 {
		return
	}
	if c.bigFrame {
		// Between frames and outside a header block a new Framer is in
		// the state of the old one.
		c.newFramer()
		c.bigFrame = false
	}
	if cap(c.hbuf) > keepScratch {
		c.hbuf = nil
	}
	if c.peak > keepStreams {
		// A map never shrinks: one that held many streams is replaced.
		c.streams = make(map[uint32]*stream)
		c.pending = nil
	}
	c.peak = 0
}

func (c *conn) release() {
	for _, st := range c.streams {
		c.drop(st)
	}
	c.releaseWaiting()
	c.nc.Close()
	c.park()
}

// Buffers are taken from these pools when the connection has bytes to
// read or write, and given back when it waits for its client, so that an
// idle connection holds none: 100,000 of them would otherwise hold 2.4 GiB.
var (
	readBufs  = sync.Pool{New: func() any { return new([readBufSize]byte) }}
	writeBufs = sync.Pool{New: func() any { return &writeBuf{make([]byte, 0, 8<<10)} }}
	blocks    = sync.Pool{New: func() any { return new(block) }}
)

// writeBuf is a pooled write buffer: a pointer, which a sync.Pool holds
// without allocating, to a slice that may have grown.
type writeBuf struct{ b []byte }

// park gives the buffers back to their pools. Both must be empty.
func (c *conn) park() {
	if c.hb != nil && c.hbID == 0 {
		// Cleared, so that the pool does not keep a request's fields.
		*c.hb = block{}
		blocks.Put(c.hb)
		c.hb = nil
	}
	if c.rb != nil {
		readBufs.Put(c.rb)
		c.rb, c.rbuf = nil, nil
	}
	c.parkBufs()
}

// parkBufs gives back the write buffer, which must be empty, and the read
// buffer when it holds nothing unread, for a write that may wait long.
// Streams under way keep the header block.
func (c *conn) parkBufs() {
	if c.r == c.w && c.rb != nil {
		readBufs.Put(c.rb)
		c.rb, c.rbuf = nil, nil
	}
	if c.wb != nil {
		c.wb.b = c.wbuf[:0]
		writeBufs.Put(c.wb)
		c.wb, c.wbuf = nil, nil
	}
}

// unpark takes the buffers the connection gave back.
func (c *conn) unpark() {
	if c.rb == nil {
		c.rb = readBufs.Get().(*[readBufSize]byte)
		c.rbuf = c.rb[:]
	}
	if c.wb == nil {
		c.wb = writeBufs.Get().(*writeBuf)
		c.wbuf = c.wb.b
	}
}

// reader is the conn as the Framer's io.Reader: it reads from the
// connection's buffer, and before waiting for the socket it writes what
// is pending.
type reader conn

func (rd *reader) Read(p []byte) (int, error) {
	c := (*conn)(rd)
	if c.r == c.w {
		if err := c.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, c.rbuf[c.r:c.w])
	c.r += n
	c.atFrame = false
	return n, nil
}

// serve serves the connection until it ends, or until it waits idle
// with Options.ReadNow, which it reports.
func (c *conn) serve() (idle bool) {
	if c.begun {
		c.unpark()
	} else {
		c.begun = true
		// The server's preface is its SETTINGS (RFC 9113 §3.4), with the
		// connection's receive window raised to match the streams'.
		c.frameHeader(18, http2.FrameSettings, 0, 0)
		c.wbuf = appendSetting(c.wbuf, http2.SettingMaxConcurrentStreams, MaxConcurrentStreams)
		c.wbuf = appendSetting(c.wbuf, http2.SettingInitialWindowSize, initialWindow)
		c.wbuf = appendSetting(c.wbuf, http2.SettingMaxHeaderListSize, uint32(c.o.MaxHeaderBytes))
		c.windowUpdate(0, initialWindow-65535)
		if !c.readPreface() {
			return false
		}
	}
	for {
		c.atFrame = true
		var err error
		if c.r == c.w {
			// Waited for here rather than inside the Framer, which shed
			// may then replace.
			err = c.fill()
		}
		var fh http2.FrameHeader
		if err == nil {
			fh, err = c.fr.ReadFrameHeader()
		}
		var f http2.Frame
		if err == nil {
			c.bigFrame = c.bigFrame || fh.Length > keepScratch
			f, err = c.fr.ReadFrameForHeader(fh)
		}
		if err == nil {
			err = c.process(f)
		}
		if err == nil {
			continue
		}
		if err == errIdle {
			return true
		}
		var se http2.StreamError
		switch {
		case errors.As(err, &se) && f == nil && fh.Type == http2.FrameHeaders:
			// A HEADERS frame the Framer refused (bad padding): its
			// field block was not decoded, and HPACK's state is lost
			// with it (RFC 9113 §4.3).
			err = connError(http2.ErrCodeProtocol)
		case errors.As(err, &se):
			c.resetStream(se.StreamID, se.Code)
			continue
		case err == http2.ErrFrameTooLarge:
			err = connError(http2.ErrCodeFrameSize)
		}
		var ce http2.ConnectionError
		if errors.As(err, &ce) {
			err = connError(ce)
		}
		if code, ok := err.(connError); ok {
			c.goAway(http2.ErrCode(code))
			c.flush()
			c.linger()
		} else if err == errDone {
			c.linger()
		}
		return false
	}
}

// readPreface reads the client's connection preface; anything else ends
// the connection (RFC 9113 §3.4).
func (c *conn) readPreface() bool {
	c.nc.SetReadDeadline(time.Now().Add(c.o.ReadHeaderTimeout))
	c.readDeadline = -1
	var got [len(Preface)]byte
	if _, err := io.ReadFull((*reader)(c), got[:]); err != nil {
		return false
	}
	if string(got[:]) != Preface {
		c.goAway(http2.ErrCodeProtocol)
		c.flush()
		return false
	}
	c.readDeadline = 0 // from now on, the idle timeout
	c.worked = true
	return true
}

// fill reads more of the connection into rbuf. Before it waits it sends
// what the windows allow and writes everything pending.
func (c *conn) fill() error {
	for {
		c.startProducers()
		if err := c.sendPending(); err != nil {
			return err
		}
		if err := c.flush(); err != nil {
			return err
		}
		if c.fatal || (c.goAwaySent || c.peerGoAway) && len(c.streams) == 0 {
			return errDone
		}
		c.r, c.w = 0, 0
		if c.readDeadline != -1 {
			now := time.Now().UnixNano()
			if c.worked {
				c.worked = false
				c.lastWork = now
			}
			c.setReadDeadline(c.deadline())
		}
		// Checked after the deadline is set: a wake-up or Shutdown sets
		// its flag, then a past deadline, so one of the two stops us.
		if c.wake.Swap(false) {
			continue
		}
		if c.o.Closing != nil && c.o.Closing.Load() && !c.goAwaySent {
			c.goAway(http2.ErrCodeNo)
			continue
		}
		n, err := c.read()
		c.w = n
		if n > 0 {
			return nil
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			at := c.readDeadline
			c.readDeadline = 0
			// A wake-up (a streamed body has bytes, the server is
			// closing) moves the deadline to the past; only a deadline
			// that really passed ends the connection.
			if at == -1 || c.expire(time.Now().UnixNano()) {
				if !c.goAwaySent {
					c.goAway(http2.ErrCodeNo)
					c.flush()
				}
				return err
			}
			continue
		}
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
}

// read reads from the connection into rbuf, which is empty, and gives the
// buffers back to their pools while it waits for the client. A TCP
// connection waits through its RawConn, holding no buffer (readRaw). Any
// other (TLS) waits, when it is idle between frames, for a read into small:
// crypto/tls keeps the rest of its record for the next read, into rbuf.
func (c *conn) read() (int, error) {
	if c.o.ReadNow != nil && c.o.WaitIdle != nil && c.quiet() {
		return c.readIdle()
	}
	if c.raw != nil {
		c.rawN, c.rawErr = 0, nil
		err := c.raw.Read(c.rawRead)
		c.unpark()
		if err == nil {
			err = c.rawErr
		}
		return c.rawN, err
	}
	if !c.atFrame || len(c.streams) > 0 || c.hbID != 0 {
		return c.nc.Read(c.rbuf)
	}
	c.shed()
	c.park()
	n, err := c.nc.Read(c.small[:])
	c.unpark()
	return copy(c.rbuf, c.small[:n]), err
}

// errIdle ends Run's turn: the connection waits idle (readIdle).
var errIdle = errors.New("h2: connection idle")

// quiet reports whether the connection waits for its client with nothing
// under way: between frames, no stream, header block or producer.
func (c *conn) quiet() bool {
	return c.atFrame && len(c.streams) == 0 && c.hbID == 0 && c.uploading == 0 &&
		c.readDeadline != -1 && c.producers.Load() == 0 && len(c.waiting) == 0
}

// readIdle reads what a quiet connection holds, waiting without its
// buffers a short while (WaitIdle); when nothing came it returns errIdle,
// for Run to return, or a timeout once the connection's time passed.
func (c *conn) readIdle() (int, error) {
	// A TCP connection holds nothing its socket does not: it waits first.
	// A TLS one may hold a record already read: it reads first. A readable
	// socket may have nothing for us (a TLS record not whole yet): a few
	// rounds, then the connection parks.
	for i := range 4 {
		if c.raw != nil || i > 0 {
			c.shed()
			c.park()
			readable := c.o.WaitIdle()
			if !readable {
				// The deadline WaitIdle left is set again before a read.
				c.readDeadline = 0
			}
			if time.Now().UnixNano() >= c.deadline() {
				c.unpark()
				return 0, os.ErrDeadlineExceeded
			}
			if !readable {
				return 0, errIdle
			}
		}
		c.unpark()
		n, err := c.o.ReadNow(c.rbuf)
		if n > 0 || err != idlepark.ErrWouldBlock {
			return n, err
		}
	}
	c.shed()
	c.park()
	return 0, errIdle
}

// deadline returns when the connection's next timeout falls due: the
// idle timeout, counted from its last work; the end of the header block
// being read; the end of a request body being read.
func (c *conn) deadline() int64 {
	at := c.lastWork + int64(c.o.IdleTimeout)
	if c.hbID != 0 {
		at = min(at, c.hbStart+int64(c.o.ReadHeaderTimeout))
	}
	if c.uploading > 0 {
		for _, st := range c.streams {
			if st.uploading {
				at = min(at, st.start.UnixNano()+int64(c.o.ReadHeaderTimeout))
			}
		}
	}
	return at
}

// expire acts on the timeouts due at now, and reports whether the
// connection ends: its idle timeout passed, or a header block did not end
// in time. A request body that did not arrive in time is answered 408, and
// the connection closes once its other streams are done.
func (c *conn) expire(now int64) bool {
	if c.hbID != 0 && now >= c.hbStart+int64(c.o.ReadHeaderTimeout) {
		return true
	}
	if c.uploading > 0 {
		for _, st := range c.streams {
			if st.uploading && now >= st.start.UnixNano()+int64(c.o.ReadHeaderTimeout) {
				st.refuse = 408
				c.answer(st)
				c.goAway(http2.ErrCodeNo)
			}
		}
	}
	return now >= c.lastWork+int64(c.o.IdleTimeout)
}

// setReadDeadline moves the read deadline to at. A later one is left
// alone while it is within a tenth of the shortest timeout of the current
// one (resetting a deadline costs a timer update); an earlier one is
// always set. A deadline that passes early is set again by fill.
func (c *conn) setReadDeadline(at int64) {
	slack := int64(min(min(c.o.IdleTimeout, c.o.ReadHeaderTimeout)/10, time.Second))
	if d := at - c.readDeadline; d > slack || d < 0 {
		c.readDeadline = at
		c.nc.SetReadDeadline(time.Unix(0, at))
	}
}

// wakeUp interrupts a read the connection's goroutine may be blocked in,
// so that it looks at its streamed bodies.
func (c *conn) wakeUp() {
	if !c.wake.Swap(true) {
		c.nc.SetReadDeadline(aLongTimeAgo)
	}
}

func (c *conn) flush() error {
	if len(c.wbuf) == 0 {
		return nil
	}
	at := time.Now().UnixNano() + int64(c.o.WriteTimeout)
	if at-c.writeDeadline > int64(min(c.o.WriteTimeout/10, time.Second)) {
		c.writeDeadline = at
		c.nc.SetWriteDeadline(time.Unix(0, at))
	}
	if g := c.gather; c.manyRecords(len(c.wbuf)) || g != nil && g.Blocked() {
		// One system call for all. Once sealed, the frames are not needed:
		// the buffers go back to their pools before the write, which
		// waits as long as the client does not read, and g keeps only
		// what the socket did not take.
		g.Start()
		_, err := c.nc.Write(c.wbuf)
		c.emptyWbuf()
		c.parkBufs()
		if e := g.Send(); err == nil {
			err = e
		}
		c.unpark()
		return err
	}
	_, err := c.nc.Write(c.wbuf)
	c.emptyWbuf()
	return err
}

// emptyWbuf empties wbuf once written; one grown by a huge write is not
// kept.
func (c *conn) emptyWbuf() {
	if cap(c.wbuf) > 4*flushThreshold {
		c.wbuf = make([]byte, 0, 8<<10)
	} else {
		c.wbuf = c.wbuf[:0]
	}
}

// flushAt is how much pending output is written at once: flushThreshold,
// or one TLS record while the client's socket is full (the last write
// waited) or, when ask is set, holds much not sent yet (gather's Room,
// a system call), so that a client that reads slowly or not at all keeps
// no more than that waiting in a write.
func (c *conn) flushAt(ask bool) int {
	g := c.gather
	if g != nil && (g.Blocked() || ask && g.Room() == gather.Record) {
		return gather.Record
	}
	return flushThreshold
}

// manyRecords reports whether a write of n bytes makes more than one TLS
// record on a connection that can gather them.
func (c *conn) manyRecords(n int) bool {
	if c.gather == nil {
		return false
	}
	small := c.flushed < smallRecordsUntil
	if small {
		c.flushed = min(c.flushed+n, smallRecordsUntil)
	}
	return n > maxRecord || small && n > minRecord
}

// linger half-closes the connection and reads what the client still sends
// for a moment, so that it reads our GOAWAY rather than a reset caused by
// unread data.
func (c *conn) linger() {
	type closeWriter interface{ CloseWrite() error }
	if cw, ok := c.nc.(closeWriter); ok {
		cw.CloseWrite()
	}
	c.nc.SetReadDeadline(time.Now().Add(time.Second))
	io.CopyN(io.Discard, c.nc, 256<<10)
}

// process acts on one frame.
func (c *conn) process(f http2.Frame) error {
	switch f := f.(type) {
	case *http2.DataFrame:
		return c.processData(f)
	case *http2.HeadersFrame:
		return c.processHeaders(f)
	case *http2.ContinuationFrame:
		return c.processContinuation(f)
	case *http2.PriorityFrame:
		if f.StreamDep == f.StreamID {
			return http2.StreamError{StreamID: f.StreamID, Code: http2.ErrCodeProtocol}
		}
	case *http2.RSTStreamFrame:
		return c.processReset(f)
	case *http2.SettingsFrame:
		return c.processSettings(f)
	case *http2.PingFrame:
		if !f.IsAck() {
			c.frameHeader(8, http2.FramePing, http2.FlagPingAck, 0)
			c.wbuf = append(c.wbuf, f.Data[:]...)
		}
	case *http2.GoAwayFrame:
		c.peerGoAway = true
	case *http2.WindowUpdateFrame:
		return c.processWindowUpdate(f)
	case *http2.PushPromiseFrame:
		return connError(http2.ErrCodeProtocol)
	}
	return nil
}

func (c *conn) processSettings(f *http2.SettingsFrame) error {
	if f.IsAck() {
		return nil
	}
	err := f.ForeachSetting(func(s http2.Setting) error {
		if err := s.Valid(); err != nil {
			return err
		}
		switch s.ID {
		case http2.SettingInitialWindowSize:
			delta := int64(s.Val) - c.peerInitWindow
			c.peerInitWindow = int64(s.Val)
			for _, st := range c.streams {
				st.sendWindow += delta
				if st.sendWindow > maxWindow {
					return connError(http2.ErrCodeFlowControl)
				}
			}
		case http2.SettingMaxFrameSize:
			c.peerMaxFrame = int(s.Val)
		}
		// HEADER_TABLE_SIZE needs nothing: responses never use the
		// dynamic table. MAX_CONCURRENT_STREAMS limits pushes, which
		// stoa does not make.
		return nil
	})
	if err != nil {
		return err
	}
	c.frameHeader(0, http2.FrameSettings, http2.FlagSettingsAck, 0)
	return nil
}

func (c *conn) processWindowUpdate(f *http2.WindowUpdateFrame) error {
	inc := int64(f.Increment)
	if f.StreamID == 0 {
		c.sendWindow += inc
		if c.sendWindow > maxWindow {
			return connError(http2.ErrCodeFlowControl)
		}
		return nil
	}
	st := c.streams[f.StreamID]
	if st == nil {
		if c.idle(f.StreamID) {
			return connError(http2.ErrCodeProtocol)
		}
		return nil // a closed stream: allowed for a while (§6.9)
	}
	st.sendWindow += inc
	if st.sendWindow > maxWindow {
		return http2.StreamError{StreamID: f.StreamID, Code: http2.ErrCodeFlowControl}
	}
	return nil
}

func (c *conn) processReset(f *http2.RSTStreamFrame) error {
	if c.idle(f.StreamID) {
		return connError(http2.ErrCodeProtocol)
	}
	// Frames the client sends on the stream after this are errors
	// (STREAM_CLOSED), unlike those after a reset of ours.
	if st := c.streams[f.StreamID]; st != nil {
		if st.answered {
			// Resetting requests as soon as they are made is the rapid
			// reset attack (CVE-2023-44487): work started for each,
			// none of it wanted. A client may cancel some; one that
			// cancels more than it lets finish, more times than it may
			// have streams open, is sent away.
			c.cancelled++
			if c.cancelled > MaxConcurrentStreams && c.cancelled > c.completed {
				c.drop(st)
				return connError(http2.ErrCodeEnhanceYourCalm)
			}
		}
		c.drop(st)
	}
	return nil
}

// idle reports whether id names a stream the client has not opened yet.
func (c *conn) idle(id uint32) bool {
	return id > c.maxClientID && id%2 == 1 || id%2 == 0
}

func (c *conn) noteClosed(id uint32) {
	c.closed[c.closedN%recentClosed] = id
	c.closedN++
}

func (c *conn) recentlyClosed(id uint32) bool {
	for _, x := range c.closed {
		if x == id {
			return true
		}
	}
	return false
}

// trimResets bounds the set of streams whose frames are dropped.
func (c *conn) trimResets() {
	if len(c.resets) <= 4*MaxConcurrentStreams {
		return
	}
	for id := range c.resets {
		if id+2*4*MaxConcurrentStreams < c.maxClientID {
			delete(c.resets, id)
		}
	}
}

func (c *conn) processHeaders(f *http2.HeadersFrame) error {
	id := f.StreamID
	if id%2 == 0 {
		return connError(http2.ErrCodeProtocol)
	}
	do := doNew
	st := c.streams[id]
	switch {
	case st != nil && st.remoteClosed:
		do = doClosed
	case st != nil:
		do = doTrailers
		if !f.StreamEnded() {
			do = doMalformed // a second HEADERS that does not end the stream (§8.1)
		}
	case id <= c.maxClientID:
		if _, ok := c.resets[id]; ok || c.recentlyClosed(id) {
			return connError(http2.ErrCodeStreamClosed)
		}
		return connError(http2.ErrCodeProtocol)
	default:
		c.maxClientID = id
		switch {
		case c.goAwaySent:
			do = doIgnore
		case len(c.streams) >= MaxConcurrentStreams:
			do = doRefuse
		}
	}
	if f.HasPriority() && f.Priority.StreamDep == id {
		do = doMalformed
	}
	c.hbID, c.hbEnd, c.hbDo = id, f.StreamEnded(), do
	if !f.HeadersEnded() {
		c.hbStart = time.Now().UnixNano()
	}
	if c.hb == nil {
		c.hb = blocks.Get().(*block)
	}
	c.hb.reset(uint32(c.o.MaxHeaderBytes), do == doTrailers)
	c.hdec.SetEmitEnabled(true)
	if _, err := c.hdec.Write(f.HeaderBlockFragment()); err != nil {
		return connError(http2.ErrCodeCompression)
	}
	if f.HeadersEnded() {
		return c.endBlock()
	}
	return nil
}

func (c *conn) processContinuation(f *http2.ContinuationFrame) error {
	// The Framer lets a CONTINUATION through only right after the
	// HEADERS or CONTINUATION of the same stream without END_HEADERS.
	if c.hb.tooLarge {
		// A block past the limit is not read to its end: that is the
		// CONTINUATION flood (CVE-2023-45288).
		return connError(http2.ErrCodeProtocol)
	}
	if _, err := c.hdec.Write(f.HeaderBlockFragment()); err != nil {
		return connError(http2.ErrCodeCompression)
	}
	if f.HeadersEnded() {
		return c.endBlock()
	}
	return nil
}

// endBlock acts on a complete header block.
func (c *conn) endBlock() error {
	if err := c.hdec.Close(); err != nil {
		return connError(http2.ErrCodeCompression)
	}
	id := c.hbID
	c.hbID = 0
	b := c.hb
	b.finish()
	switch c.hbDo {
	case doIgnore:
		return nil
	case doRefuse:
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeRefusedStream}
	case doClosed:
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeStreamClosed}
	case doMalformed:
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol}
	case doTrailers:
		st := c.streams[id]
		if st == nil {
			// Its answer was completed, and the stream reset, while the
			// block's CONTINUATION frames were on their way.
			return nil
		}
		if b.bad != nil || b.tooLarge {
			return http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol}
		}
		return c.endRemote(st)
	}
	if b.bad != nil {
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol}
	}
	st := newStream(c, id)
	c.streams[id] = st
	c.peak = max(c.peak, len(c.streams))
	c.worked = true
	if b.tooLarge {
		st.remoteClosed = c.hbEnd
		st.refuse = 431
		c.answer(st)
		return nil
	}
	st.fromBlock(b)
	if !c.hbEnd {
		// The request's time starts now, before its body, as over
		// HTTP/1.1; a request without one starts when it is answered.
		st.start = time.Now()
	}
	switch {
	case c.hbEnd:
		return c.endRemote(st)
	case st.expectOther:
		// 417 at once: the body is not wanted (RFC 9110 §10.1.1).
		c.answer(st)
	case b.fields.Expect().Continue:
		// The client waits for this before it sends the body, which
		// is read (and dropped) before the answer.
		c.interim(id, 100)
		fallthrough
	default:
		st.uploading = true
		c.uploading++
	}
	return nil
}

// interim writes a 1xx response on stream id.
func (c *conn) interim(id uint32, status int) {
	c.hbuf = appendStatus(c.hbuf[:0], status)
	c.frameHeader(len(c.hbuf), http2.FrameHeaders, http2.FlagHeadersEndHeaders, id)
	c.wbuf = append(c.wbuf, c.hbuf...)
}

// endRemote handles the end of a request: its body is complete.
func (c *conn) endRemote(st *stream) error {
	st.remoteClosed = true
	if st.contentLength >= 0 && st.received != st.contentLength {
		return http2.StreamError{StreamID: st.id, Code: http2.ErrCodeProtocol}
	}
	if !st.answered {
		c.answer(st)
	}
	return nil
}

func (c *conn) processData(f *http2.DataFrame) error {
	id := f.StreamID
	n := int64(f.Length)
	// Every DATA frame counts against the connection's window, whatever
	// becomes of its stream (§6.9).
	c.recvWindow -= n
	if c.recvWindow < 0 {
		return connError(http2.ErrCodeFlowControl)
	}
	c.recvUnack += n
	if c.recvUnack >= initialWindow/4 {
		c.windowUpdate(0, uint32(c.recvUnack))
		c.recvWindow += c.recvUnack
		c.recvUnack = 0
	}
	st := c.streams[id]
	if st == nil {
		if c.idle(id) {
			return connError(http2.ErrCodeProtocol)
		}
		if _, ok := c.resets[id]; ok {
			return nil
		}
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeStreamClosed}
	}
	if st.remoteClosed {
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeStreamClosed}
	}
	st.recvWindow -= n
	if st.recvWindow < 0 {
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeFlowControl}
	}
	st.received += int64(len(f.Data()))
	if len(f.Data()) > 0 {
		c.worked = true
	}
	if st.contentLength >= 0 && st.received > st.contentLength {
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol}
	}
	if !st.answered {
		// The body is dropped as it comes; the window is given back
		// until the request is answered.
		st.recvUnack += n
		if st.recvUnack >= initialWindow/4 && !f.StreamEnded() {
			c.windowUpdate(id, uint32(st.recvUnack))
			st.recvWindow += st.recvUnack
			st.recvUnack = 0
		}
	}
	if f.StreamEnded() {
		return c.endRemote(st)
	}
	if !st.answered && st.received > c.o.MaxBodyDiscard {
		// Answering may complete the stream and free it: st is not
		// used after this.
		c.answer(st)
	}
	return nil
}

// resetStream sends RST_STREAM for id and forgets the stream.
func (c *conn) resetStream(id uint32, code http2.ErrCode) {
	c.frameHeader(4, http2.FrameRSTStream, 0, id)
	c.wbuf = append(c.wbuf, byte(code>>24), byte(code>>16), byte(code>>8), byte(code))
	c.resets[id] = struct{}{}
	c.trimResets()
	if st := c.streams[id]; st != nil {
		c.drop(st)
		c.noteClosed(id)
	}
}

// goAway sends GOAWAY naming the last stream that will be answered.
func (c *conn) goAway(code http2.ErrCode) {
	if c.goAwaySent && code == http2.ErrCodeNo {
		return
	}
	c.goAwaySent = true
	c.frameHeader(8, http2.FrameGoAway, 0, 0)
	id := c.maxClientID
	c.wbuf = append(c.wbuf, byte(id>>24), byte(id>>16), byte(id>>8), byte(id),
		byte(code>>24), byte(code>>16), byte(code>>8), byte(code))
}

func (c *conn) windowUpdate(id, inc uint32) {
	c.frameHeader(4, http2.FrameWindowUpdate, 0, id)
	c.wbuf = append(c.wbuf, byte(inc>>24), byte(inc>>16), byte(inc>>8), byte(inc))
}

func (c *conn) frameHeader(length int, t http2.FrameType, flags http2.Flags, id uint32) {
	c.wbuf = append(c.wbuf, byte(length>>16), byte(length>>8), byte(length),
		byte(t), byte(flags), byte(id>>24), byte(id>>16), byte(id>>8), byte(id))
}

func appendSetting(b []byte, id http2.SettingID, v uint32) []byte {
	return append(b, byte(id>>8), byte(id), byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}
