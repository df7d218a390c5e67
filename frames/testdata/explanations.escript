#!/usr/bin/env escript
%% Regenerates explanations.golden from RabbitMQ's own code: the explanation formats
%% of rabbit_reader:frame_error/5 and unexpected_frame/4, rabbit_misc:amqp_error/4 and
%% rabbit_binary_generator:map_exception/3 (reply text, cut at 255 octets), and the
%% ~p of refused protocol headers as rabbit_reader:log_connection_exception/3 logs it.
%%
%%   RABBIT_COMMON=/usr/lib/rabbitmq/lib/rabbitmq_server-3.10.8/plugins/rabbit_common-3.10.8/ebin \
%%     escript frames/testdata/explanations.escript > frames/testdata/explanations.golden
%%
%% Each line: kind, then fields separated by tabs; payloads in hex ("-" when empty),
%% texts as they are except for octets outside 32..126 and \, written \xHH.
%%   frame TYPE PAYLOAD REASON REPLYTEXT   (REASON: "-" for unexpected_frame, an atom, or tag:int:int)
%%   header HEADER LOGTERM
%%   tuple COLUMN TAG INTS TEXT              (io_lib:format("~s~p") after COLUMN-1 characters)
%%   binary COLUMN PAYLOAD TEXT
-mode(compile).

main(_) ->
    Ebin = case os:getenv("RABBIT_COMMON") of
               false -> "/usr/lib/rabbitmq/lib/rabbitmq_server-3.10.8/plugins/rabbit_common-3.10.8/ebin";
               Dir -> Dir
           end,
    true = code:add_patha(Ebin),
    rand:seed(exsss, {20, 9, 1}),
    Fixed = [<<>>, <<"abcd">>, <<0,20,0,10,0>>, <<"a\"b\\c">>, <<"\n\r\t\v\b\f\e">>,
             <<127>>, <<160,255>>, <<"abc",200>>, <<"abc",0>>, <<1>>,
             list_to_binary(lists:duplicate(16, 255)), list_to_binary(lists:seq(1, 16)),
             <<"abcdefghijklmnop">>, <<"abcdefghijklmnopq">>,
             <<0,60,0,40,0,0,0,4,116,101,115,116,0,0,0,0>>,
             list_to_binary(lists:duplicate(16, 150)), list_to_binary(lists:duplicate(40, 150)),
             list_to_binary(lists:duplicate(16, 9)), list_to_binary(lists:duplicate(13, 100) ++ [1,2,3])],
    Random = [random_payload() || _ <- lists:seq(1, 250)],
    Reasons = [none, unknown_frame, {invalid_frame_end_marker, 0}, {invalid_frame_end_marker, 255},
               {invalid_frame_end_marker, 7}, {frame_too_large, 4097, 4088},
               {frame_too_large, 4294967295, 4294967287}],
    [frame_line(T, P, R) || P <- Fixed, T <- [1, 255], R <- Reasons],
    [frame_line(rand_type(), P, lists:nth(rand:uniform(length(Reasons)), Reasons)) || P <- Random],
    Headers = [<<"HTTP/1.1">>, <<"GET / HT">>, <<22,3,1,0,165,1,0,0>>, <<8,0,0,0,0,0,0,206>>,
               <<"AMQ\"\\\n\e",0>>, <<255,160,159,127,126,32,31,0>>]
              ++ [rand:bytes(8) || _ <- lists:seq(1, 100)],
    [header_line(H) || H <- Headers],
    [tuple_line() || _ <- lists:seq(1, 150)],
    [tuple_line(Col, list_to_atom(lists:duplicate(TagLen, $t)), Ints)
     || Col <- [1, 5, 10, 13, 14, 20, 36, 37, 50, 79], TagLen <- [2, 3, 10, 24],
        Ints <- [[1], [12345678901234567890, 1], lists:seq(1, 25), [4294967295, 4294967287, 7]]],
    [binary_line() || _ <- lists:seq(1, 100)],
    ok.

tuple_line() ->
    Col = rand:uniform(79),
    Tag = list_to_atom([$a + rand:uniform(26) - 1 || _ <- lists:seq(1, rand:uniform(30))]),
    Ints = [rand:uniform(1 bsl (4 * rand:uniform(10))) || _ <- lists:seq(1, rand:uniform(4))],
    tuple_line(Col, Tag, Ints).

tuple_line(Col, Tag, Ints) ->
    Term = list_to_tuple([Tag | Ints]),
    Text = at_column(Col, Term),
    io:format("tuple\t~b\t~s\t~s\t~s~n", [Col, Tag, string:join([integer_to_list(I) || I <- Ints], " "), esc(Text)]).

binary_line() ->
    Col = rand:uniform(79),
    Bin = list_to_binary([rand:uniform(256) - 1 || _ <- lists:seq(1, rand:uniform(40))]),
    io:format("binary\t~b\t~s\t~s~n", [Col, hex(Bin), esc(at_column(Col, Bin))]).

%% The text ~p prints for Term at column Col, without the Col-1 characters before it.
at_column(Col, Term) ->
    Prefix = lists:duplicate(Col - 1, $x),
    Text = lists:flatten(io_lib:format("~s~p", [Prefix, Term])),
    list_to_binary(lists:nthtail(Col - 1, Text)).

rand_type() -> lists:nth(rand:uniform(6), [1, 2, 3, 8, 9, 255]).

random_payload() ->
    Len = rand:uniform(41) - 1,
    Alphabet = case rand:uniform(4) of
                   1 -> lists:seq(32, 126);
                   2 -> lists:seq(0, 255);
                   3 -> lists:seq(100, 255);
                   4 -> [0, 1, 10, 27, 34, 92, 97, 98, 160, 200, 255]
               end,
    list_to_binary([lists:nth(rand:uniform(length(Alphabet)), Alphabet) || _ <- lists:seq(1, Len)]).

snippet(P) when size(P) =< 16 -> {"all", P};
snippet(<<S:16/binary, _/binary>>) -> {"first 16", S}.

frame_line(Type, Payload, Reason) ->
    {Str, Bin} = snippet(Payload),
    Err = case Reason of
              none -> rabbit_misc:amqp_error(unexpected_frame, "type ~p, ~s octets = ~p",
                                             [Type, Str, Bin], none);
              _ -> rabbit_misc:amqp_error(frame_error, "type ~p, ~s octets = ~p: ~p",
                                          [Type, Str, Bin, Reason], none)
          end,
    {0, {'connection.close', _Code, Text, 0, 0}} =
        rabbit_binary_generator:map_exception(0, Err, rabbit_framing_amqp_0_9_1),
    io:format("frame\t~b\t~s\t~s\t~s~n", [Type, hex(Payload), reason(Reason), esc(Text)]).

reason(none) -> "-";
reason(A) when is_atom(A) -> atom_to_list(A);
reason(T) -> string:join([atom_to_list(element(1, T)) | [integer_to_list(I) || I <- tl(tuple_to_list(T))]], ":").

header_line(H) ->
    Term = lists:flatten(io_lib:format("~p", [{bad_header, H}])),
    io:format("header\t~s\t~s~n", [hex(H), esc(list_to_binary(Term))]).

esc(B) -> [if X >= 32, X =< 126, X =/= $\\ -> X; true -> io_lib:format("\\x~2.16.0b", [X]) end || <<X>> <= B].

hex(<<>>) -> "-";
hex(B) -> [io_lib:format("~2.16.0b", [X]) || <<X>> <= B].
