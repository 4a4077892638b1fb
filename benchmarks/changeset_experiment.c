/* The experiment behind ChangesetRecorder (issue 10): what recording a changeset per event
** costs with the session extension, and with the pre-update hook instead. Not part of the
** build; C against the system libsqlite3 (3.40.1 here):
**
**   gcc -O2 -o /tmp/cs benchmarks/changeset_experiment.c -lsqlite3
**   for m in 0 5 1 2 3 6 4; do /tmp/cs 200000 $m; done
**
** N events on todos(id TEXT PRIMARY KEY, text, completed, deletedAt), alternately an INSERT
** of a new todo and an UPDATE completing it, in one transaction; CPU time is printed.
**   mode 0: the statements only
**   mode 5: + a 40-byte blob row per event in a changeset table (the row LiveStore keeps)
**   mode 1: + a session per event (create, attach all tables, changeset, delete) and its row
**   mode 2: as 1 with the table attached by name ("pre-attached")
**   mode 3: one session for all events (no per-event changeset: a lower bound only)
**   mode 6: + a pre-update hook that records the first old values, and the row (NULL blob)
**   mode 4: + that hook, a SELECT of the final row per event, encoding, and the row
*/
#define SQLITE_ENABLE_SESSION 1
#define SQLITE_ENABLE_PREUPDATE_HOOK 1
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double now(){struct timespec t;clock_gettime(CLOCK_PROCESS_CPUTIME_ID,&t);return t.tv_sec+t.tv_nsec/1e9;}
static sqlite3*open_db(const char*p){sqlite3*db;remove(p);sqlite3_open(p,&db);
 sqlite3_exec(db,"PRAGMA journal_mode=OFF;PRAGMA synchronous=OFF;PRAGMA cache_size=-32768;"
 "CREATE TABLE todos(id TEXT PRIMARY KEY, text TEXT NOT NULL DEFAULT '', completed INTEGER NOT NULL DEFAULT 0, deletedAt INTEGER);"
 "CREATE TABLE cs(g INTEGER, c INTEGER, changeset BLOB, debug TEXT);",0,0,0);return db;}
/* minimal hook recorder: old record for first change, SELECT new at end */
typedef struct {unsigned char buf[4096]; int n; int op; int have; char pk[64]; int pkn;} Rec;
static Rec R;
static void hook(void*ctx,sqlite3*db,int op,const char*zDb,const char*zTab,sqlite3_int64 k1,sqlite3_int64 k2){
  if(R.have) return; R.have=1; R.op=op; sqlite3_value*v;
  if(op==SQLITE_INSERT) sqlite3_preupdate_new(db,0,&v); else sqlite3_preupdate_old(db,0,&v);
  R.pkn=sqlite3_value_bytes(v); memcpy(R.pk,sqlite3_value_text(v),R.pkn);
  R.n=0; if(op!=SQLITE_INSERT){int nc=sqlite3_preupdate_count(db);for(int i=0;i<nc;i++){sqlite3_preupdate_old(db,i,&v);int t=sqlite3_value_type(v);R.buf[R.n++]=t;
   if(t==SQLITE_INTEGER){sqlite3_int64 x=sqlite3_value_int64(v);for(int b=7;b>=0;b--)R.buf[R.n++]=(x>>(b*8))&255;}
   else if(t==SQLITE_TEXT){int l=sqlite3_value_bytes(v);R.buf[R.n++]=l;memcpy(R.buf+R.n,sqlite3_value_text(v),l);R.n+=l;}}}
}
int main(int argc,char**argv){int N=argc>1?atoi(argv[1]):200000;int mode=atoi(argv[2]);
 sqlite3*db=open_db("/tmp/csexp/x.db");
 sqlite3_stmt*ins,*upd,*csi,*sel;
 sqlite3_prepare_v2(db,"INSERT INTO todos(id,text,completed) VALUES(?,?,0)",-1,&ins,0);
 sqlite3_prepare_v2(db,"UPDATE todos SET completed=1 WHERE id=?",-1,&upd,0);
 sqlite3_prepare_v2(db,"INSERT INTO cs VALUES(?,?,?,NULL)",-1,&csi,0);
 sqlite3_prepare_v2(db,"SELECT * FROM todos WHERE (id) IS (?1)",-1,&sel,0);
 sqlite3_exec(db,"BEGIN",0,0,0);
 double t0=now(); char id[32],text[64];
 sqlite3_session*longs=0; if(mode==3){sqlite3session_create(db,"main",&longs);sqlite3session_attach(longs,0);}
 for(int i=0;i<N;i++){ int k=i/2; sprintf(id,"todo-%08d",k);
   sqlite3_session*s=0;
   if(mode==1||mode==2){sqlite3session_create(db,"main",&s); sqlite3session_attach(s,mode==2?"todos":0);}
   if(mode==4||mode==6){R.have=0;sqlite3_preupdate_hook(db,hook,0);}
   sqlite3_stmt*st=(i%2==0)?ins:upd;
   if(i%2==0){sprintf(text,"Todo number %d with some text",k);sqlite3_bind_text(ins,1,id,-1,SQLITE_TRANSIENT);sqlite3_bind_text(ins,2,text,-1,SQLITE_TRANSIENT);}
   else sqlite3_bind_text(upd,1,id,-1,SQLITE_TRANSIENT);
   sqlite3_step(st); sqlite3_reset(st);
   void*cs=0;int n=0; unsigned char out[4096];
   if(s){sqlite3session_changeset(s,&n,&cs);sqlite3session_delete(s);}
   if(mode==6){sqlite3_preupdate_hook(db,0,0);} if(mode==7){R.have=1;R.pkn=strlen(id);memcpy(R.pk,id,R.pkn);} if(mode==4||mode==7){sqlite3_preupdate_hook(db,0,0); if(R.have){sqlite3_bind_text(sel,1,R.pk,R.pkn,SQLITE_STATIC); if(sqlite3_step(sel)==SQLITE_ROW){
      n=0; out[n++]='T';out[n++]=4;out[n++]=1;out[n++]=0;out[n++]=0;out[n++]=0;memcpy(out+n,"todos",6);n+=6;out[n++]=R.op;out[n++]=0;
      memcpy(out+n,R.buf,R.n);n+=R.n; for(int c=0;c<4;c++){int t=sqlite3_column_type(sel,c);out[n++]=t;if(t==SQLITE_TEXT){int l=sqlite3_column_bytes(sel,c);out[n++]=l;memcpy(out+n,sqlite3_column_text(sel,c),l);n+=l;}else if(t==1){sqlite3_int64 x=sqlite3_column_int64(sel,c);for(int b=7;b>=0;b--)out[n++]=(x>>(b*8))&255;}}
      cs=out;} sqlite3_reset(sel);}}
   if(mode==5){static unsigned char d[40];cs=d;n=40;} if(mode>0 && mode!=3){sqlite3_bind_int64(csi,1,i);sqlite3_bind_int64(csi,2,0);if(cs)sqlite3_bind_blob(csi,3,cs,n,SQLITE_TRANSIENT);else sqlite3_bind_null(csi,3);sqlite3_step(csi);sqlite3_reset(csi);}
   if(s&&cs&&mode!=5)sqlite3_free(cs);
 }
 if(longs){void*cs;int n;sqlite3session_changeset(longs,&n,&cs);sqlite3_free(cs);sqlite3session_delete(longs);}
 sqlite3_exec(db,"COMMIT",0,0,0);
 double t=now()-t0; printf("mode %d: %d events %.3fs %.0f ev/s\n",mode,N,t,N/t);
 return 0;}
